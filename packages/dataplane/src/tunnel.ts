// A WebSocket upgrade being proxied: routed and retried like a plain request, then, once the backend
// answers 101, the two sockets are joined until either closes. Reported once, when it ends.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { failureStatus } from './failure-status.js';
import { answerExchange, redirectExchange } from './gateway-responses.js';
import type { Exchange, ExchangeListener, UpgradeTarget } from './http1/server-connection.js';
import type { DispatchController, DispatchHandler, PoolFailure, PoolTarget } from './http1/upstream-pool.js';
import { clientHeaderBlock, switchingProtocolsHead } from './response-head.js';
import { RoutedExchange } from './routed-exchange.js';

const EMPTY = Buffer.alloc(0);

export class Tunnel extends RoutedExchange implements DispatchHandler, UpgradeTarget, ExchangeListener {
  private upstreamSocket: net.Socket | null = null;
  private upstreamRaw: string[] = [];
  private upstreamBytes: Buffer = EMPTY;
  private client: net.Socket | null = null;
  private bytesAtStart = 0;
  private status = 0;

  /** One try, always on a new connection (an upgraded connection is never pooled). */
  send(target: PoolTarget): void {
    this.tryStart = performance.now();
    this.controller = this.plane.pool.dispatch(target, this.upstream!, null, this, true);
  }

  /** A gateway-written answer; the connection closes after it, as after any failed upgrade. */
  answer(status: number): void {
    answerExchange(this.ex, status, true);
    this.finish(status);
  }

  /** A TLS host reached over plain HTTP: 308 to https, then close. */
  redirect(location: string): void {
    redirectExchange(this.ex, location, true);
    this.finish(308);
  }

  // ---- DispatchHandler -------------------------------------------------------------------

  onUpgrade(status: number, rawHeaders: string[], socket: net.Socket, head: Buffer): void {
    this.tryEnded(status, undefined);
    this.controller = null;
    if (this.done) {
      socket.destroy();
      return;
    }
    this.upstreamSocket = socket;
    this.upstreamRaw = rawHeaders;
    this.upstreamBytes = head;
    socket.on('error', destroyQuietly);
    this.ex.acceptUpgrade(this);
  }

  /** The backend refused the upgrade: its answer is relayed and the connection closes. */
  onHead(status: number, rawHeaders: string[], statusMessage: string): void {
    this.ex.closeAfter = true;
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
    this.finish(this.ex.status);
  }

  onError(kind: PoolFailure, c: DispatchController): void {
    this.tryEnded(c.status, kind);
    this.controller = null;
    if (this.done) return;
    if (kind === 'connect' || kind === 'connect-timeout') {
      this.exclude ??= new Set();
      this.exclude.add(this.lastKey);
      if (this.plane.mayTryAgain(this) && this.plane.tunnelNext(this)) return;
    }
    // The same answer and logged status as a plain request's (failure-status.ts).
    const outcome = failureStatus(kind);
    if (this.ex.status === 0 && outcome.answer !== 0) {
      this.answer(outcome.answer);
      return;
    }
    this.ex.destroy();
    this.finish(outcome.log !== 0 ? outcome.log : this.ex.status);
  }

  // ---- UpgradeTarget: the client's socket is ours -----------------------------------------

  onUpgradeSocket(_ex: Exchange, client: net.Socket, clientBytes: Buffer): void {
    const upstream = this.upstreamSocket!;
    this.client = client;
    this.status = 101;
    this.bytesAtStart = client.bytesWritten;
    this.plane.tunnels.add(this);
    client.on('error', destroyQuietly);
    client.write(switchingProtocolsHead(this.upstreamRaw), 'latin1');
    if (this.upstreamBytes.length > 0) client.write(this.upstreamBytes);
    this.upstreamBytes = EMPTY;
    if (clientBytes.length > 0) upstream.write(clientBytes);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => {
      upstream.destroy();
      this.closed();
    });
    upstream.once('close', () => client.destroy());
  }

  /** Closes an open tunnel (graceful shutdown's end). */
  destroy(): void {
    this.client?.destroy();
    this.upstreamSocket?.destroy();
  }

  private closed(): void {
    this.plane.tunnels.delete(this);
    this.finish(101);
  }

  // ---- ExchangeListener: the client left before the upgrade was done ----------------------

  onAbort(): void {
    if (this.done) return;
    const c = this.controller;
    if (c !== null) {
      this.tryEnded(c.status, 'client');
      this.controller = null;
      c.abort();
    }
    this.upstreamSocket?.destroy();
    this.finish(499);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    const sent = this.client === null ? this.ex.bytesWritten : this.client.bytesWritten - this.bytesAtStart;
    this.plane.tunnelEnded(this, status !== 0 ? status : this.status, this.head.bytes, sent);
  }
}

function destroyQuietly(this: net.Socket): void {
  this.destroy();
}
