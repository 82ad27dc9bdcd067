// V8's allocation-site pretenuring, off in a process that serves connections (the data plane's
// listen(), the primary's before it hands connections over).
//
// Pretenuring learns from scavenges: when most objects made at one place in the code are still alive
// at the next scavenge, V8 allocates that place's objects in old space from then on. A process that
// serves connections teaches it the wrong thing at the first burst (64 clients connecting at once, each
// with its upstream connection: all alive at the first scavenge), and the sockets, streams and
// connection objects of every later connection are then born old. With a connection per request they
// die there: measured (Connection: close, c=64, one core), ~1.3 KB promoted per request, a mark-compact
// every ~0.5 s, p99 30-31 ms; with pretenuring off from the start 8-13 B per request, no mark-compact
// in the run, p99 15-16 ms. Keep-alive traffic measured the same either way (scavenge pause ~1 µs per
// request at c=64 and c=256, no mark-compact). The flag changes V8's later decisions only (turned off
// after such a burst, the damage stays), so it is turned off before the first connection; the start of
// the configuration, which pretenuring does help (~0.1 s for 10,000 Ingresses), is over by then.
import { setFlagsFromString } from 'node:v8';

let stopped = false;

/** Turns allocation-site pretenuring off for the rest of the process; idempotent. */
export function stopPretenuring(): void {
  if (stopped) return;
  stopped = true;
  try {
    setFlagsFromString('--no-allocation-site-pretenuring');
  } catch {
    // A V8 without the flag has nothing to turn off.
  }
}
