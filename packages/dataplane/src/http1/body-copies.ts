// Node's llhttp binding hands every body chunk over as a fresh copy (node_http_parser.cc, on_body:
// Buffer::Copy), so relaying bodies makes copies at hundreds of MB a second and little other garbage.
// V8 frees a dead Buffer's memory when it collects the small object that owns it, and with so little
// else allocated the new space does not fill: no scavenge comes, and V8 sees the copies only through
// its external-memory limit, with a full mark-compact. Relaying 1 MiB responses at 470 MB/s that was
// one mark-compact every ~70 ms (5-7 ms each) with ~60 MB of dead copies held in RSS.
//
// So after every COPIES_PER_MINOR_GC bytes of copies a minor GC (a scavenge, ~0.3 ms with a young
// generation holding little) is asked for at the end of the event-loop turn: the copies are freed while
// young, before the external-memory limit is reached. Measured (1 MiB responses, c=16, one core):
// 1,450-1,630 → ~1,010 µs of CPU per response, peak RSS 161-163 → 101-106 MB. At 16 MiB per GC the
// limit was reached first (162 mark-compacts in 6 s): the threshold must stay well below it.
// The gc function comes from --expose-gc set at run time and a new context (the flag applies to new
// contexts only), made at the first threshold crossed: a process relaying small bodies never makes it.
// V8's allocation-site pretenuring is turned off at the same moment (a serving process has it off from
// its listen() on, see serving-heap.ts; this is for other users of the transport): scavenges asked for while
// requests are in flight find many of their objects alive, and V8 learned from that to allocate them
// in old space from then on. Small GETs after a minute of 1 MiB responses then promoted 90 % of what
// survived a scavenge (7 % before), scavenges took 1.2 ms (0.3), a mark-compact came every 0.5 s and
// p99 went from 3-5 to 10-16 ms. Without pretenuring they are as before; small GETs alone measured
// the same with and without it (33.7-38.6k req/s either way, interleaved), and the start of 10,000
// Ingresses, which it does help (~0.1 s), has happened by then.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stopPretenuring } from '../serving-heap.js';

export const COPIES_PER_MINOR_GC = 4 * 1024 * 1024;

type GcFunction = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let copied = 0;
let scheduled = false;
let gc: GcFunction | null | undefined;
let collections = 0;

/** Counts `bytes` of body copied by the parser binding; may schedule a minor GC. */
export function noteBodyCopy(bytes: number): void {
  copied += bytes;
  if (copied < COPIES_PER_MINOR_GC || scheduled) return;
  scheduled = true;
  setImmediate(collectCopies);
}

function collectCopies(): void {
  scheduled = false;
  copied = 0;
  if (gc === undefined) gc = exposedGc();
  if (gc === null) return;
  collections++;
  gc({ type: 'minor' });
}

function exposedGc(): GcFunction | null {
  try {
    stopPretenuring();
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as GcFunction) : null;
  } catch {
    return null;
  }
}

/** How many minor GCs were asked for so far (for tests and diagnostics). */
export function bodyCopyCollections(): number {
  return collections;
}
