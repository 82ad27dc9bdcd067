// The one writer of the process's stdout: the log (pino writes its lines here), the access log's
// batches and, with workers, the lines they send. One writer keeps every line whole: two writers on one
// descriptor could cut each other's lines wherever the kernel takes a write only in part.
import { writeSync } from 'node:fs';

/** Bytes waiting for a descriptor that does not take them (a full non-blocking pipe) before batches are dropped. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** How long to wait before retrying a descriptor that said EAGAIN. */
const RETRY_MS = 10;

/**
 * Writes go straight to the descriptor, synchronously, as nginx writes its access log: a batch of 64 KiB
 * costs one system call and no copy, where an asynchronous writer costs a thread-pool round trip and,
 * for strings, two more encodings of the batch (measured: ~1.5 µs per access-log line). When the
 * descriptor is a non-blocking pipe that is full, the rest waits in order and is retried on a timer;
 * past 16 MiB waiting, further batches are dropped and counted rather than held without bound.
 */
export class OutputWriter {
  readonly #fd: number;
  readonly #maxQueued: number;
  #queue: Buffer[] = [];
  #queued = 0;
  #retry: NodeJS.Timeout | undefined;
  #broken = false;
  /** Batches dropped because the descriptor did not keep up. */
  dropped = 0;

  /** Bytes written to the writer and not yet to the descriptor. */
  get pending(): number {
    return this.#queued;
  }

  constructor(fd = 1, opts: { maxQueuedBytes?: number } = {}) {
    this.#fd = fd;
    this.#maxQueued = opts.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  }

  /** A string of whole lines (pino's, a worker's batch). */
  write(chunk: string): boolean {
    if (chunk.length > 0) this.writeBytes(Buffer.from(chunk, 'utf8'));
    return true;
  }

  /** Bytes of whole lines; the writer keeps `bytes` until written, so the caller must not reuse them. */
  writeBytes(bytes: Buffer): void {
    if (this.#broken || bytes.length === 0) return;
    if (this.#queue.length > 0) {
      this.#enqueue(bytes);
      return;
    }
    const rest = this.#put(bytes);
    if (rest !== null) {
      this.#enqueue(rest);
      this.#scheduleRetry();
    }
  }

  /** Writes everything waiting, blocking until the descriptor takes it (at exit). */
  flushSync(): void {
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    const deadline = Date.now() + 5_000;
    while (this.#queue.length > 0 && !this.#broken) {
      const rest = this.#put(this.#queue[0]!);
      if (rest === null) {
        this.#queued -= this.#queue.shift()!.length;
      } else {
        this.#queued -= this.#queue[0]!.length - rest.length;
        this.#queue[0] = rest;
        if (Date.now() > deadline) return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }

  /** Writes `bytes`: what the descriptor did not take (EAGAIN, a partial write), or null. */
  #put(bytes: Buffer): Buffer | null {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset, bytes.length - offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return bytes.subarray(offset);
        // EPIPE, EBADF…: whoever read the output is gone, and nothing more can be written.
        this.#broken = true;
        this.#queue = [];
        this.#queued = 0;
        return null;
      }
    }
    return null;
  }

  #enqueue(bytes: Buffer): void {
    if (this.#queued + bytes.length > this.#maxQueued) {
      if (this.dropped++ === 0) {
        process.stderr.write('ingress-gateway: stdout does not keep up; dropping log output until it does\n');
      }
      return;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(this.#drain, RETRY_MS);
    // Exits flush explicitly (flushSync); a stuck reader must not hold the process open.
    this.#retry.unref();
  }

  readonly #drain = (): void => {
    this.#retry = undefined;
    while (this.#queue.length > 0 && !this.#broken) {
      const rest = this.#put(this.#queue[0]!);
      if (rest !== null) {
        this.#queued -= this.#queue[0]!.length - rest.length;
        this.#queue[0] = rest;
        this.#scheduleRetry();
        return;
      }
      this.#queued -= this.#queue.shift()!.length;
    }
  };
}
