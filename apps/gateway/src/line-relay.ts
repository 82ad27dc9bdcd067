// The primary's side of a worker's log pipe: the bytes a worker writes there are whole lines, but a read
// of the pipe ends wherever the kernel cut it, so the relay hands the output writer whole lines only
// (and every worker's lines stay whole among the others' on the one stdout).
import type { LineSink } from './access-log.js';

const NEWLINE = 0x0a;

export class LineRelay {
  #rest: Buffer | undefined;

  constructor(private readonly sink: LineSink) {}

  /** A chunk read from the pipe; the relay owns it from then on. */
  push(chunk: Buffer): void {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.#rest = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk]);
      return;
    }
    let whole = last === chunk.length - 1 ? chunk : chunk.subarray(0, last + 1);
    if (this.#rest !== undefined) {
      whole = Buffer.concat([this.#rest, whole]);
      this.#rest = undefined;
    }
    if (last !== chunk.length - 1) this.#rest = chunk.subarray(last + 1);
    if (this.sink.writeBytes !== undefined) this.sink.writeBytes(whole);
    else this.sink.write(whole.toString('utf8'));
  }

  /** The pipe ended. A line never finished (its worker was killed mid-write) is dropped: its length. */
  end(): number {
    const dropped = this.#rest?.length ?? 0;
    this.#rest = undefined;
    return dropped;
  }
}
