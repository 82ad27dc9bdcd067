// One proxied request, from its route decision to its access-log record. One object per request is
// the client side's listener (body, drain, abort), the upstream pool's handler (head, data, end, error)
// and the request body's source: no closure is made per request.
import { performance } from 'node:perf_hooks';
import { failureStatus } from './failure-status.js';
import { answerExchange, redirectExchange } from './gateway-responses.js';
import type { AbortReason, Exchange, ExchangeListener } from './http1/server-connection.js';
import type {
  DispatchController,
  DispatchHandler,
  PoolFailure,
  PoolTarget,
  RequestBodySource,
} from './http1/upstream-pool.js';
import { clientHeaderBlock } from './response-head.js';
import { RoutedExchange } from './routed-exchange.js';

export class Forward extends RoutedExchange implements ExchangeListener, DispatchHandler, RequestBodySource {
  /** The next try opens a new connection (after a pooled one turned out closed). */
  fresh = false;
  /** The header block without Host, when the client sent none (each try adds its endpoint's). */
  hostless: string | null = null;
  private bodyBytes = 0;
  private bodyStopped = false;
  private bodyEnded = false;

  /** Sends the request to `target` (one try). */
  send(target: PoolTarget, key: string): void {
    const upstream = this.upstream!;
    if (this.hostless !== null) upstream.headers = `Host: ${key}\r\n${this.hostless}`;
    this.tryStart = performance.now();
    this.bodyStopped = false;
    const body = (upstream.bodyLength ?? 0) !== 0 ? this : null;
    this.controller = this.plane.pool.dispatch(target, upstream, body, this, this.fresh);
  }

  /** A gateway-written answer (404, 503, 502…); `close` ends the connection after it. */
  answer(status: number, close: boolean): void {
    answerExchange(this.ex, status, close || this.plane.closing);
    this.finish(0);
  }

  redirect(location: string): void {
    redirectExchange(this.ex, location, this.plane.closing);
    this.finish(0);
  }

  // ---- DispatchHandler (the backend's answer) -----------------------------------------------

  onHead(status: number, rawHeaders: string[], statusMessage: string): void {
    const block = clientHeaderBlock(rawHeaders, this);
    this.ex.writeHead(status, block, this.contentLength, statusMessage === '' ? undefined : statusMessage);
  }

  onData(chunk: Buffer): boolean {
    return this.ex.write(chunk);
  }

  onEnd(trailers: string[], c: DispatchController): void {
    this.tryEnded(c.status, undefined);
    this.controller = null;
    this.ex.end(trailers);
    this.finish(0);
  }

  onError(kind: PoolFailure, c: DispatchController): void {
    this.tryEnded(c.status, kind);
    this.controller = null;
    if (this.done) return;
    if (kind === 'connect' || kind === 'connect-timeout' || kind === 'stale') {
      if (kind === 'stale') {
        // Replayed on a fresh connection; nginx does not count a try that failed on a cached
        // keep-alive connection either.
        this.fresh = true;
        this.freeTries++;
      } else {
        this.exclude ??= new Set();
        this.exclude.add(this.lastKey);
      }
      if (this.plane.mayTryAgain(this) && this.plane.forwardNext(this)) return;
    }
    const outcome = failureStatus(kind);
    if (this.ex.status === 0 && outcome.answer !== 0) {
      this.answer(outcome.answer, false);
      return;
    }
    // A response under way cannot be replaced: the client's connection is cut.
    this.ex.destroy();
    this.finish(0);
  }

  // ---- RequestBodySource (pulled once a connection is held) ---------------------------------

  start(controller: DispatchController): void {
    this.controller = controller;
    this.ex.readBody();
  }

  pause(): void {
    this.ex.pauseBody();
  }

  resume(): void {
    this.ex.resumeBody();
  }

  abort(): void {
    // The try is over before the body was sent whole (the backend answered early, or failed): the
    // rest of the body is the client side's to discard.
    this.bodyStopped = true;
    this.ex.resumeBody();
  }

  // ---- ExchangeListener (the client side) ---------------------------------------------------

  onBodyData(_ex: Exchange, chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (!this.bodyStopped) this.controller?.writeBody(chunk);
  }

  onBodyEnd(_ex: Exchange, trailers: string[]): void {
    this.bodyEnded = true;
    if (!this.bodyStopped) this.controller?.endBody(trailers);
  }

  onDrain(): void {
    this.controller?.resume();
  }

  onAbort(ex: Exchange, reason: AbortReason): void {
    if (this.done) return;
    const c = this.controller;
    if (c !== null) {
      // The backend never sees this request complete.
      this.tryEnded(c.status, 'client');
      this.controller = null;
      c.abort();
    }
    // nginx's 499 for a client that left (one that half-closed mid-body got the connection's 400, but
    // looks alike), 408 for a body that stalled (client_body_timeout), 400 for a malformed body (the
    // connection answered it, unless a response was under way).
    let status: number;
    if (reason === 'timeout') status = 408;
    else if (reason === 'cut-short') status = 499;
    else if (reason === 'client') status = ex.headersSent ? ex.status : 499;
    else status = ex.status !== 0 ? ex.status : 400;
    this.finish(status);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    const ex = this.ex;
    const cl = this.head.contentLength;
    // The body as received: all of it when it ended (Content-Length), else what was read.
    const body = cl !== undefined && this.bodyEnded ? Number(cl) || 0 : this.bodyBytes;
    this.plane.exchangeEnded(
      this,
      status !== 0 ? status : ex.status !== 0 ? ex.status : 499,
      this.head.bytes + body,
      ex.bytesWritten,
    );
  }
}
