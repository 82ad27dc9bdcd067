// UpstreamClient implemented with http-proxy-3. The request is handed to the proxy only once a
// connection is held (a socket from our pool, passed through a one-socket agent), so a failed connect
// never consumes the body. The response is handled here (`selfHandleResponse`) so hop-by-hop headers
// are filtered, framing kept, trailers passed on and a cut-off body cuts the client connection.
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ProxyServer } from 'http-proxy-3';
import {
  type AcquireHandler,
  type ConnectErrorKind,
  ConnectionPools,
  type EndpointPool,
  kOwner,
  type SocketOwner,
} from './connection-pool.js';
import { responseHeaders } from './headers.js';
import type {
  TunnelHandler,
  UpstreamClient,
  UpstreamClientOptions,
  UpstreamFailure,
  UpstreamHandler,
  UpstreamResult,
  UpstreamTarget,
} from './upstream-client.js';

const kAttempt = Symbol('gateway.attempt');
const kHeld = Symbol('gateway.held');
const kPath = Symbol('gateway.path');

interface WithAttempt {
  [kAttempt]?: Attempt | TunnelAttempt | undefined;
}

/** An agent that hands a ClientRequest the socket we already hold (passed in the request options). */
const heldSocketAgent = {
  keepAlive: true,
  maxSockets: Number.POSITIVE_INFINITY,
  protocol: 'http:',
  defaultPort: 80,
  addRequest(req: ClientRequest, options: { [kHeld]?: Socket; [kPath]?: string }): void {
    const path = options[kPath];
    if (path !== undefined) restorePath(req as HeadRendered, path);
    (req as unknown as { onSocket(s: Socket): void }).onSocket(options[kHeld]!);
  },
};

/**
 * http-proxy-3 joins the outgoing path through its urlJoin, which drops an empty query (`/a?` → `/a`);
 * the backend must get the request-target as sent. With `Expect` the head is already rendered (and
 * queued): fix it there too.
 */
function restorePath(req: HeadRendered, path: string): void {
  const line = `${req.method} ${req.path} `;
  const fixed = `${req.method} ${path} `;
  const head = req._header;
  if (typeof head === 'string' && head.startsWith(line)) req._header = fixed + head.slice(line.length);
  const queued = req.outputData?.[0];
  if (queued !== undefined && typeof queued.data === 'string' && queued.data.startsWith(line)) {
    queued.data = fixed + queued.data.slice(line.length);
    if (typeof req.outputSize === 'number') req.outputSize += fixed.length - line.length;
  }
  req.path = path;
}

/** Node's private fields of a ClientRequest whose head is rendered. */
type HeadRendered = ClientRequest & {
  _header: string | null;
  outputData?: { data: string | Buffer }[];
  outputSize?: number;
};

/** Methods a client may retry when a pooled connection was closed under them (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

function noop(): void {}

class Attempt implements AcquireHandler, SocketOwner {
  readonly start = performance.now();
  socket: Socket | undefined = undefined;
  reused = false;
  status = 0;
  responded = false;
  done = false;
  /** Why the socket timed out: '' (it did not), the client stalled mid-body, or the backend. */
  timedOut: '' | 'client' | 'upstream' = '';

  constructor(
    readonly client: HttpProxyUpstream,
    readonly req: IncomingMessage & WithAttempt,
    readonly res: ServerResponse,
    readonly pool: EndpointPool,
    readonly handler: UpstreamHandler,
    readonly withBody: boolean,
  ) {}

  acquired(err: ConnectErrorKind | undefined, socket: Socket | undefined, reused: boolean): void {
    if (this.done) {
      // Abandoned while connecting: nothing was sent, the socket is clean.
      if (err === undefined) socket?.emit('free');
      return;
    }
    if (err !== undefined || socket === undefined) {
      this.finish(err ?? 'connect');
      return;
    }
    if (this.res.destroyed || this.req.socket?.destroyed !== false) {
      // The client left while we connected: the socket is still clean, give it back.
      socket.emit('free');
      this.finish('client');
      return;
    }
    this.socket = socket;
    this.reused = reused;
    (socket as Socket & { [kOwner]?: SocketOwner })[kOwner] = this;
    const opts = this.client.options;
    socket.setTimeout(this.withBody ? opts.sendTimeoutMs : opts.readTimeoutMs);
    if (this.withBody) this.req.once('end', onRequestBodyEnd);
    const url = this.req.url ?? '';
    this.client.proxy.web(
      this.req,
      this.res,
      {
        target: this.pool.target,
        agent: heldSocketAgent,
        ssl:
          url.charCodeAt(url.length - 1) === 0x3f /* ? */
            ? { [kHeld]: socket, [kPath]: url }
            : { [kHeld]: socket },
        toProxy: true,
        selfHandleResponse: true,
      },
      onProxyError,
    );
  }

  onSocketTimeout(socket: Socket): void {
    if (this.done) return;
    // A slow client holds the response back: that is not the backend's delay.
    if (this.responded && this.res.writableNeedDrain) return;
    // Sending the body with nothing queued for the backend: the client is the one that stalled
    // (nginx's client_body_timeout); bytes waiting for the backend: it stopped reading (proxy_send_timeout).
    this.timedOut =
      !this.responded && this.withBody && !this.req.complete && socket.writableLength === 0
        ? 'client'
        : 'upstream';
    socket.destroy();
  }

  finish(failure: UpstreamFailure | undefined): void {
    if (this.done) return;
    this.done = true;
    if (this.req[kAttempt] === this) this.req[kAttempt] = undefined;
    const result: UpstreamResult = {
      failure,
      status: this.status,
      responded: this.responded,
      elapsedMs: performance.now() - this.start,
    };
    this.handler.upstreamDone(result);
  }
}

/** How long the rest of a body the backend did not wait for may take to arrive (nginx: 5 s). */
const LINGER_MS = 5000;

function onRequestBodyEnd(this: IncomingMessage & WithAttempt): void {
  const a = this[kAttempt];
  if (a instanceof Attempt && !a.done && a.socket !== undefined && !a.responded) {
    a.socket.setTimeout(a.client.options.readTimeoutMs);
  }
}

function classify(a: Attempt, err: NodeJS.ErrnoException): UpstreamFailure {
  if (a.timedOut !== '') return a.timedOut === 'client' ? 'client-timeout' : 'timeout';
  if (a.res.destroyed || a.req.socket?.destroyed) return 'client';
  if (a.responded) return 'truncated';
  const code = err.code ?? '';
  if (code.startsWith('HPE_')) return 'protocol';
  if (
    a.reused &&
    !a.withBody &&
    IDEMPOTENT.has(a.req.method ?? '') &&
    (code === 'ECONNRESET' || code === 'EPIPE')
  ) {
    return 'stale';
  }
  return 'reset';
}

function onProxyError(err: Error, req: IncomingMessage & WithAttempt, res: unknown): void {
  const a = req[kAttempt];
  if (!(a instanceof Attempt) || a.done) return;
  const failure = classify(a, err as NodeJS.ErrnoException);
  a.socket?.destroy();
  if (a.responded) (res as ServerResponse).destroy();
  a.finish(failure);
}

function onProxyRes(
  proxyRes: IncomingMessage & WithAttempt,
  req: IncomingMessage & WithAttempt,
  res: ServerResponse,
): void {
  const a = req[kAttempt];
  if (!(a instanceof Attempt) || a.done || res.headersSent || res.destroyed) {
    proxyRes.resume();
    return;
  }
  a.status = proxyRes.statusCode ?? 0;
  a.responded = true;
  proxyRes[kAttempt] = a;
  a.socket?.setTimeout(a.client.options.readTimeoutMs);
  const headers = responseHeaders(proxyRes.rawHeaders, a.handler.closingConnection);
  try {
    res.writeHead(a.status, proxyRes.statusMessage, headers);
  } catch {
    // An invalid reason phrase or header value: fall back to the default reason.
    res.writeHead(a.status, headers);
  }
  proxyRes.on('error', noop);
  proxyRes.on('end', onUpstreamEnd);
  proxyRes.on('close', onUpstreamClose);
  proxyRes.pipe(res, { end: false });
}

function onUpstreamEnd(this: IncomingMessage & WithAttempt): void {
  const a = this[kAttempt];
  if (!(a instanceof Attempt)) return;
  const raw = this.rawTrailers;
  if (raw.length > 0) {
    const trailers: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) trailers.push([raw[i]!, raw[i + 1]!]);
    a.res.addTrailers(trailers);
  }
  a.res.end();
  a.finish(undefined);
  if (a.withBody && !a.req.complete) discardRestOfBody(a);
}

/**
 * The backend answered before it read the whole request body. As nginx does, the rest of the body is
 * read and dropped, so the client's connection can carry its next request; the upstream connection holds
 * half a request and is closed. A client that keeps sending longer than LINGER_MS is cut off (nginx's
 * lingering_timeout), so a body that never ends cannot hold the connection.
 */
function discardRestOfBody(a: Attempt): void {
  const req = a.req;
  req.unpipe();
  a.socket?.destroy();
  const linger = setTimeout(() => req.socket?.destroy(), LINGER_MS);
  req.once('end', () => clearTimeout(linger));
  req.once('close', () => clearTimeout(linger));
  req.resume();
}

function onUpstreamClose(this: IncomingMessage & WithAttempt): void {
  const a = this[kAttempt];
  if (!(a instanceof Attempt) || a.done) return;
  if (this.complete) return; // 'end' finishes it
  const failure: UpstreamFailure = a.timedOut !== '' ? 'timeout' : a.res.destroyed ? 'client' : 'truncated';
  a.res.destroy();
  a.finish(failure);
}

function onEconnreset(_err: Error, req: IncomingMessage & WithAttempt): void {
  const a = req[kAttempt];
  if (a instanceof Attempt) a.finish('client');
}

class TunnelAttempt implements AcquireHandler, SocketOwner {
  readonly start = performance.now();
  settled = false;
  closed = false;
  status = 0;
  upstream: Socket | undefined = undefined;

  constructor(
    readonly client: HttpProxyUpstream,
    readonly req: IncomingMessage & WithAttempt,
    readonly socket: Socket,
    readonly head: Buffer,
    readonly pool: EndpointPool,
    readonly handler: TunnelHandler,
  ) {}

  acquired(err: ConnectErrorKind | undefined, upstream: Socket | undefined): void {
    if (err !== undefined || upstream === undefined) {
      this.settle(err ?? 'connect', false);
      return;
    }
    if (this.socket.destroyed) {
      upstream.destroy();
      this.settle('client', false);
      return;
    }
    this.upstream = upstream;
    (upstream as Socket & { [kOwner]?: SocketOwner })[kOwner] = this;
    upstream.setTimeout(this.client.options.readTimeoutMs);
    this.req[kAttempt] = this;
    this.client.proxy.ws(
      this.req,
      this.socket,
      this.head,
      {
        target: this.pool.target,
        agent: heldSocketAgent,
        ssl: { [kHeld]: upstream },
        toProxy: true,
      },
      onWsError,
    );
  }

  onSocketTimeout(socket: Socket): void {
    if (this.settled) return;
    socket.destroy();
    this.settle('timeout', false);
  }

  settle(failure: UpstreamFailure | undefined, responded: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.handler.tunnelSettled({
      failure,
      status: this.status,
      responded,
      elapsedMs: performance.now() - this.start,
    });
  }

  opened(): void {
    this.status = 101;
    this.upstream?.setTimeout(0);
    this.settle(undefined, true);
    if (this.socket.destroyed) this.onClientClose();
    else this.socket.once('close', onTunnelClientClose);
  }

  onClientClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.destroy();
    this.handler.tunnelClosed();
  }
}

function onTunnelClientClose(this: Socket & WithAttempt): void {
  const a = this[kAttempt];
  if (a instanceof TunnelAttempt) a.onClientClose();
}

function onWsOpen(proxySocket: Socket & { [kOwner]?: SocketOwner }): void {
  const a = proxySocket[kOwner];
  if (a instanceof TunnelAttempt) {
    (a.socket as Socket & WithAttempt)[kAttempt] = a;
    a.opened();
  }
}

function onWsResponse(this: ClientRequest & WithAttempt, res: IncomingMessage): void {
  const a = this[kAttempt];
  if (a instanceof TunnelAttempt) {
    a.status = res.statusCode ?? 0;
    a.settle(undefined, true);
  }
}

function onProxyReqWs(proxyReq: ClientRequest & WithAttempt, req: IncomingMessage & WithAttempt): void {
  const a = req[kAttempt];
  if (a instanceof TunnelAttempt) {
    proxyReq[kAttempt] = a;
    proxyReq.on('response', onWsResponse);
  }
}

function onWsError(err: Error, req: IncomingMessage & WithAttempt): void {
  const a = req[kAttempt];
  if (!(a instanceof TunnelAttempt) || a.settled) return;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  a.upstream?.destroy();
  a.settle(a.socket.destroyed ? 'client' : code.startsWith('HPE_') ? 'protocol' : 'reset', false);
}

export class HttpProxyUpstream implements UpstreamClient {
  readonly proxy: ProxyServer;
  readonly pools: ConnectionPools;

  constructor(readonly options: UpstreamClientOptions) {
    this.pools = new ConnectionPools({
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: 60_000,
      maxIdlePerEndpoint: 128,
      refuseLocalExternalNames: options.refuseLocalExternalNames,
    });
    const proxy = new ProxyServer({ xfwd: false, prependPath: false });
    // The request headers are rewritten by the data plane; http-proxy-3's own passes would rewrite them
    // again (deleteLength even drops Transfer-Encoding of a DELETE, leaving its body unframed).
    const passes = (proxy as unknown as { webPasses: { name: string }[] }).webPasses;
    for (let i = passes.length - 1; i >= 0; i--) if (passes[i]!.name !== 'stream') passes.splice(i, 1);
    const wsPasses = (proxy as unknown as { wsPasses: { name: string }[] }).wsPasses;
    for (let i = wsPasses.length - 1; i >= 0; i--) if (wsPasses[i]!.name !== 'stream') wsPasses.splice(i, 1);
    proxy.on('proxyRes', onProxyRes as never);
    proxy.on('econnreset', onEconnreset as never);
    proxy.on('open', onWsOpen as never);
    proxy.on('proxyReqWs', onProxyReqWs as never);
    proxy.on('error', noop);
    this.proxy = proxy;
  }

  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: UpstreamTarget,
    fresh: boolean,
    handler: UpstreamHandler,
  ): void {
    const pool = this.pools.get(target.address, target.port, target.external);
    const a = new Attempt(this, req, res, pool, handler, hasBody(req));
    (req as IncomingMessage & WithAttempt)[kAttempt] = a;
    pool.acquire(fresh, a);
  }

  tunnel(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    target: UpstreamTarget,
    handler: TunnelHandler,
  ): void {
    const pool = this.pools.get(target.address, target.port, target.external);
    pool.acquire(true, new TunnelAttempt(this, req, socket, head, pool, handler));
  }

  abandon(req: IncomingMessage): void {
    const a = (req as IncomingMessage & WithAttempt)[kAttempt];
    if (!(a instanceof Attempt) || a.done) return;
    // Destroying the connection mid-request: the backend sees the request fail, never complete.
    a.socket?.destroy();
    a.finish('client');
  }

  close(): void {
    this.pools.close();
  }
}
