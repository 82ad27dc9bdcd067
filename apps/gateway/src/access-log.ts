import type { RequestRecord } from '@gateway/dataplane';

// One JSON line per request with ingress-nginx's variable names as keys. Lines are pre-formatted by hand
// (a generic JSON.stringify of the record costs ~10 µs a request, a third of the proxy's budget) and
// written in batches through the logger's buffered destination, so lines never interleave with logs.

export interface LineSink {
  write(chunk: string): unknown;
  /** Whole lines as UTF-8; the sink owns `bytes` from then on. Preferred when present. */
  writeBytes?(bytes: Buffer): unknown;
}

// JSON.stringify escapes exactly these (quote, backslash, control characters, lone surrogates); a string
// without them is its own JSON body, and most request data has none.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const str = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
const secs = (s: number | null): string => (s === null ? 'null' : s.toFixed(3));

/** The route's part of a line, the same for every request it serves: made once per route. */
const routeFields = new WeakMap<object, string>();

function routePart(r: RequestRecord): string {
  const route = r.route;
  let part = route === undefined ? undefined : routeFields.get(route);
  if (part === undefined) {
    part = `,"namespace":${str(r.namespace)},"ingress":${str(r.ingress)},"service":${str(r.service)}`;
    if (route !== undefined) routeFields.set(route, part);
  }
  return part;
}

export function formatAccessLine(r: RequestRecord): string {
  return (
    `{"time":"${r.time}","remote_addr":${str(r.remote_addr)},"method":${str(r.method)}` +
    `,"host":${str(r.host)},"path":${str(r.path)},"status":${r.status},"bytes_sent":${r.bytes_sent}` +
    `,"request_length":${r.request_length},"request_time":${secs(r.request_time)}` +
    routePart(r) +
    `,"upstream_addr":${str(r.upstream_addr)},"upstream_status":${str(r.upstream_status)}` +
    `,"upstream_response_time":${secs(r.upstream_response_time)},"req_id":${str(r.req_id)}}\n`
  );
}

/** How long a line may wait in the buffer: a batch per 50 ms (or per 64 KiB), not a write per request. */
export const ACCESS_LOG_FLUSH_MS = 50;
const BATCH_BYTES = 65_536;

/**
 * Collects lines and hands them to the sink in batches: when 64 KiB are pending, else on a short timer
 * (unref'd: `flush()` at exit writes what is left). Under load that is one write per 64 KiB instead of
 * one per event-loop turn; a batch is always whole lines, which the workers' sink relies on.
 *
 * Each line is encoded into one buffer as it is made, while its pieces are fresh: appending lines to
 * one string instead builds a tree of thousands of pieces that the sink then has to flatten (a third of
 * the log's cost per request, measured).
 */
export class AccessLog {
  #batch = Buffer.allocUnsafe(BATCH_BYTES);
  #used = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #sink: LineSink;
  readonly #flushMs: number;

  constructor(sink: LineSink, opts: { flushMs?: number } = {}) {
    this.#sink = sink;
    this.#flushMs = opts.flushMs ?? ACCESS_LOG_FLUSH_MS;
  }

  write(record: RequestRecord): void {
    const line = formatAccessLine(record);
    // A UTF-16 unit takes at most 3 bytes in UTF-8, so a line of n units fits in 3n.
    const room = 3 * line.length;
    if (this.#used + room > BATCH_BYTES) this.flush();
    if (room > BATCH_BYTES) {
      this.#sink.write(line);
      return;
    }
    this.#used += this.#batch.write(line, this.#used, 'utf8');
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#flushScheduled, this.#flushMs);
      this.#timer.unref();
    }
  }

  readonly #flushScheduled = (): void => {
    this.#timer = undefined;
    this.flush();
  };

  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    if (this.#sink.writeBytes !== undefined) {
      // The batch goes to the sink as it is; the next one gets a buffer of its own.
      const batch = this.#batch;
      this.#batch = Buffer.allocUnsafe(BATCH_BYTES);
      this.#sink.writeBytes(batch.subarray(0, used));
    } else this.#sink.write(this.#batch.toString('utf8', 0, used));
  }
}
