import type { RequestRecord } from '@gateway/dataplane';

// One JSON line per request with ingress-nginx's variable names as keys. Lines are pre-formatted by hand
// (a generic JSON.stringify of the record costs ~10 µs a request, a third of the proxy's budget) and
// written in batches through the logger's buffered destination, so lines never interleave with logs.

export interface LineSink {
  write(chunk: string): unknown;
}

const str = JSON.stringify;
const secs = (s: number | null): string => (s === null ? 'null' : s.toFixed(3));

export function formatAccessLine(r: RequestRecord): string {
  return (
    `{"time":"${r.time}","remote_addr":${str(r.remote_addr)},"method":${str(r.method)}` +
    `,"host":${str(r.host)},"path":${str(r.path)},"status":${r.status},"bytes_sent":${r.bytes_sent}` +
    `,"request_length":${r.request_length},"request_time":${secs(r.request_time)}` +
    `,"namespace":${str(r.namespace)},"ingress":${str(r.ingress)},"service":${str(r.service)}` +
    `,"upstream_addr":${str(r.upstream_addr)},"upstream_status":${str(r.upstream_status)}` +
    `,"upstream_response_time":${secs(r.upstream_response_time)},"req_id":${str(r.req_id)}}\n`
  );
}

/** How long a line may wait in the buffer: a batch per 50 ms (or per 64 KiB), not a write per request. */
export const ACCESS_LOG_FLUSH_MS = 50;
const MAX_PENDING = 65_536;

/**
 * Collects lines and hands them to the sink in batches: when 64 KiB are pending, else on a short timer
 * (unref'd: `flush()` at exit writes what is left). Under load that is one write per 64 KiB instead of
 * one per event-loop turn; a batch is always whole lines, which the workers' sink relies on.
 */
export class AccessLog {
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  readonly #sink: LineSink;
  readonly #flushMs: number;

  constructor(sink: LineSink, opts: { flushMs?: number } = {}) {
    this.#sink = sink;
    this.#flushMs = opts.flushMs ?? ACCESS_LOG_FLUSH_MS;
  }

  write(record: RequestRecord): void {
    this.#pending += formatAccessLine(record);
    if (this.#pending.length >= MAX_PENDING) this.flush();
    else if (this.#timer === undefined) {
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
    if (this.#pending === '') return;
    const chunk = this.#pending;
    this.#pending = '';
    this.#sink.write(chunk);
  }
}
