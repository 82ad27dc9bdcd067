// The data plane: two Fastify listeners (plain and TLS) that route each request through the active
// configuration (routes, certificates) and proxy it to an endpoint from the endpoint table. Each is
// read once per request and replaced by one reference swap.
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, METHODS, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { normalizeHost } from '@gateway/routing';
import type { Backend, Endpoint, EndpointTable, Route } from '@gateway/translate';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { failureStatus, upstreamStatusOf } from './failure-status.js';
import {
  rawResponseLength,
  sendGatewayResponse,
  sendRedirect,
  writeRawRedirect,
  writeRawResponse,
} from './gateway-responses.js';
import { RequestIds, rewriteRequestHeaders } from './headers.js';
import { HttpProxyUpstream } from './http-proxy-upstream.js';
import { decideRoute, type RouteDecision } from './route-decision.js';
import type {
  Active,
  DataPlaneOptions,
  Logger,
  RequestObserver,
  RequestRecord,
  Scheme,
  SniTable,
} from './types.js';
import type { TunnelHandler, UpstreamClient, UpstreamHandler, UpstreamResult } from './upstream-client.js';

const kExchange = Symbol('gateway.exchange');
const kListener = Symbol('gateway.listener');
const kBodyBytes = Symbol('gateway.bodyBytes');
const kBodyError = Symbol('gateway.bodyError');

/**
 * What a retry decision reads (`DataPlane.mayTryAgain`), for a plain request and an upgrade alike.
 * `attempts` counts every try; `freeTries` those that do not count against --proxy-next-upstream-tries
 * (the replay after a stale pooled connection: at most one, since it and every later try use a fresh
 * connection). `start` is when the request arrived, which is when its first try started.
 */
interface Tries {
  readonly start: number;
  readonly endpoints: readonly Endpoint[];
  attempts: number;
  freeTries: number;
}

interface Listener {
  readonly scheme: Scheme;
  readonly observer: RequestObserver | undefined;
  /** X-Forwarded-Port: the port this listener accepted on. */
  port: string;
  readonly app: FastifyInstance;
}

/**
 * `[kExchange]`: the request's exchange; undefined before `handle` runs, null once it has ended.
 * `[kBodyError]`: the parser's error code when the body turned out malformed before `handle` ran.
 */
type Req = IncomingMessage & { [kExchange]?: Exchange | null; [kBodyError]?: string; [kBodyBytes]?: number };
type Res = ServerResponse & { [kExchange]?: Exchange };
type ConnSocket = Socket & { [kListener]?: Listener };

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const NO_CERTIFICATES: SniTable = { lookup: () => undefined };
const NO_ENDPOINTS: EndpointTable = new Map();

/**
 * Every method Node's parser accepts, declared to Fastify as body-less: Fastify then calls the handler
 * at once, without content-type checks (no 415 for an odd Content-Type, no 400 for QUERY without one);
 * the body is the proxy's to stream. CONNECT never gets here (Node emits 'connect').
 */
function declareAllMethods(app: FastifyInstance): void {
  const known = new Set(app.supportedMethods);
  for (const m of METHODS) {
    if (m === 'CONNECT') continue;
    app.addHttpMethod(m, { hasBody: false, overrideExisting: known.has(m) } as { hasBody: boolean });
  }
}

function clientIpOf(socket: Socket | null): string {
  const ip = socket?.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function headerBytes(req: IncomingMessage): number {
  // Request line + header lines + final CRLF, as received (close enough: Node hides exact spacing).
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12 + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + 2;
  return n;
}

/** What Exchange and Tunnel share for the access-log record. */
interface Reported {
  readonly start: number;
  readonly bytesAtStart: number;
  readonly socket: Socket;
  readonly req: IncomingMessage;
  readonly listener: Listener;
  route: Route | undefined;
  host: string;
  clientIp: string;
  requestId: string;
  upstreamAddr: string;
  upstreamStatus: string;
  upstreamMs: number;
}

function recordOf(
  x: Reported,
  path: string,
  status: number,
  requestLength: number,
  bytesSent: number,
): RequestRecord {
  const route = x.route;
  return {
    time: new Date().toISOString(),
    remote_addr: x.clientIp,
    method: x.req.method ?? '',
    host: x.host,
    path,
    status,
    bytes_sent: bytesSent,
    request_length: requestLength,
    request_time: Math.round(performance.now() - x.start) / 1000,
    namespace: route?.namespace ?? '',
    ingress: route?.ingress ?? '',
    service: route?.service ?? '',
    upstream_addr: x.upstreamAddr,
    upstream_status: x.upstreamStatus,
    upstream_response_time: x.upstreamMs < 0 ? null : Math.round(x.upstreamMs) / 1000,
    req_id: x.requestId,
    route,
    scheme: x.listener.scheme,
  };
}

/** Per-request state, from routing to the access-log record. */
class Exchange implements UpstreamHandler, Tries {
  readonly start = performance.now();
  readonly socket: Socket;
  /**
   * `socket.bytesWritten` when the response got the connection (-1 until then: a pipelined request
   * waits for the responses before it) and when its last byte was handed to the socket (-1 until then).
   */
  bytesAtStart: number;
  bytesAtEnd = -1;
  /** A status the gateway decided without answering (408 for a stalled body); 0 when none. */
  status = 0;
  /** The request body turned out malformed in flight (bad chunk, cut short): the connection closes. */
  malformedBody = false;
  route: Route | undefined = undefined;
  backend: Backend | undefined = undefined;
  /** The backend's endpoints when the request started; retries pick from the same list. */
  endpoints: readonly Endpoint[] = [];
  host = '';
  path: string;
  clientIp = '';
  requestId = '';
  exclude: Set<string> | undefined = undefined;
  attempts = 0;
  freeTries = 0;
  fresh = false;
  upstreamAddr = '';
  upstreamStatus = '';
  upstreamMs = -1;

  constructor(
    readonly plane: DataPlane,
    readonly req: Req,
    readonly res: Res,
    readonly listener: Listener,
  ) {
    this.socket = req.socket;
    req[kExchange] = this;
    if (res.socket === null) {
      this.bytesAtStart = -1;
      res.once('socket', onResponseSocket);
    } else {
      this.bytesAtStart = req.socket.bytesWritten;
    }
    // `on`, not `once`: each fires once anyway, and `once` allocates a wrapper per request.
    res.on('prefinish', onResponsePrefinish);
    this.path = req.url ?? '';
  }

  /** Bytes of this response on the wire (the socket is shared with the responses before and after it). */
  get bytesSent(): number {
    if (this.bytesAtStart < 0) return 0;
    return (this.bytesAtEnd < 0 ? this.socket.bytesWritten : this.bytesAtEnd) - this.bytesAtStart;
  }

  get closingConnection(): boolean {
    return this.plane.closing;
  }

  upstreamDone(result: UpstreamResult): void {
    const failure = result.failure;
    this.upstreamMs = Math.max(this.upstreamMs, 0) + result.elapsedMs;
    const status = upstreamStatusOf(result.status, failure);
    this.upstreamStatus = this.upstreamStatus === '' ? status : `${this.upstreamStatus}, ${status}`;
    if (failure === undefined || result.responded) return;
    if (failure === 'client') {
      // A malformed body: the data plane answers (400, or the connection is cut) once this returns.
      if (!this.malformedBody) this.res.destroy();
      return;
    }
    if (failure === 'client-timeout') {
      // nginx's client_body_timeout: nothing answered, the connection closed, 408 logged.
      this.status = failureStatus(failure).log;
      this.res.destroy();
      return;
    }
    if (failure === 'connect' || failure === 'connect-timeout' || failure === 'stale') {
      if (failure === 'stale') {
        // Replayed on a fresh connection to the same endpoint; nginx does not count a try that failed
        // on a cached keep-alive connection either.
        this.fresh = true;
        this.freeTries++;
      } else {
        this.exclude ??= new Set();
        this.exclude.add(this.lastKey);
      }
      if (this.plane.mayTryAgain(this) && this.plane.forwardNext(this)) return;
    }
    this.plane.answer(this, failureStatus(failure).answer);
  }

  lastKey = '';
}

function onResponseSocket(this: Res): void {
  const ex = this[kExchange];
  if (ex !== undefined && this.socket !== null) ex.bytesAtStart = this.socket.bytesWritten;
}

/** The last byte is handed to the socket; a pipelined response after this one has not started yet. */
function onResponsePrefinish(this: Res): void {
  const ex = this[kExchange];
  if (ex !== undefined && ex.bytesAtStart >= 0) ex.bytesAtEnd = ex.socket.bytesWritten;
}

/** Counts a request body as it is read (chunked bodies have no Content-Length to report). */
function onBodyResume(this: Req): void {
  this[kBodyBytes] = 0;
  this.on('data', countBody);
}

function countBody(this: Req, chunk: Buffer): void {
  this[kBodyBytes]! += chunk.length;
}

function onResponseClose(this: Res): void {
  const ex = this[kExchange];
  if (ex === undefined) return;
  this[kExchange] = undefined;
  ex.req[kExchange] = null;
  // The parser stopped at the malformed body: nothing can follow this response on the connection.
  if (ex.malformedBody) ex.socket.end();
  ex.plane.exchangeEnded(ex);
}

/** A WebSocket upgrade being proxied; reported once, when it ends. */
class Tunnel implements TunnelHandler, Tries {
  readonly start = performance.now();
  readonly bytesAtStart: number;
  route: Route | undefined;
  host: string;
  backend: Backend;
  endpoints: readonly Endpoint[];
  clientIp: string;
  requestId = '';
  exclude: Set<string> | undefined = undefined;
  lastKey = '';
  attempts = 0;
  readonly freeTries = 0;
  status = 0;
  upstreamAddr = '';
  upstreamStatus = '';
  upstreamMs = -1;
  ended = false;

  constructor(
    readonly plane: DataPlane,
    readonly req: IncomingMessage,
    readonly socket: Socket,
    readonly head: Buffer,
    readonly listener: Listener,
    d: RouteDecision & { kind: 'forward' },
  ) {
    this.bytesAtStart = socket.bytesWritten;
    this.route = d.route;
    this.backend = d.backend;
    this.endpoints = d.endpoints;
    this.host = d.host;
    this.clientIp = clientIpOf(socket);
  }

  tunnelSettled(result: UpstreamResult): void {
    const failure = result.failure;
    this.upstreamMs = Math.max(this.upstreamMs, 0) + result.elapsedMs;
    const status = upstreamStatusOf(result.status, failure);
    this.upstreamStatus = this.upstreamStatus === '' ? status : `${this.upstreamStatus}, ${status}`;
    if (failure === undefined) {
      this.status = result.status;
      if (result.status === 101) {
        this.plane.tunnels.add(this.socket);
      } else {
        // The backend refused the upgrade; its answer was relayed and the connection closes.
        this.plane.tunnelEnded(this);
      }
      return;
    }
    if (failure === 'connect' || failure === 'connect-timeout') {
      this.exclude ??= new Set();
      this.exclude.add(this.lastKey);
      if (this.plane.mayTryAgain(this) && this.plane.tunnelNext(this)) return;
    }
    // The same answer and the same logged status as a plain request's (failure-status.ts).
    const outcome = failureStatus(failure);
    this.status = outcome.log !== 0 ? outcome.log : outcome.answer;
    if (outcome.answer === 0) this.socket.destroy();
    else writeRawResponse(this.socket, outcome.answer);
    this.plane.tunnelEnded(this);
  }

  tunnelClosed(): void {
    this.plane.tunnels.delete(this.socket);
    this.plane.tunnelEnded(this);
  }
}

function onConnectionClose(this: ConnSocket): void {
  const l = this[kListener];
  if (l !== undefined) l.observer?.connectionClosed?.(l.scheme);
}

export class DataPlane {
  private active: Active | undefined = undefined;
  private endpoints: EndpointTable = NO_ENDPOINTS;
  closing = false;
  readonly observer: RequestObserver | undefined;
  readonly tunnels = new Set<Socket>();
  private readonly logger: Logger;
  private readonly picker: DataPlaneOptions['picker'];
  private readonly upstream: UpstreamClient;
  private readonly ids = new RequestIds(randomBytes(10).toString('hex'));
  private readonly host: string;
  private readonly redirectPortSuffix: string;
  /** --proxy-next-upstream-tries (0: no limit) and --proxy-next-upstream-timeout in ms (0: none). */
  private readonly maxTries: number;
  private readonly retryWindowMs: number;
  private readonly http: Listener;
  private readonly https: Listener;
  private inflight = 0;
  private drained: (() => void) | undefined = undefined;
  private ports: { httpPort: number; httpsPort: number } | undefined = undefined;

  constructor(private readonly opts: DataPlaneOptions) {
    this.observer = opts.observer;
    this.logger = opts.logger ?? noopLogger;
    this.picker = opts.picker;
    this.host = opts.host ?? '0.0.0.0';
    const redirectPort = opts.redirectHttpsPort ?? 443;
    this.redirectPortSuffix = redirectPort === 443 ? '' : `:${redirectPort}`;
    this.maxTries = opts.nextUpstreamTries ?? 3;
    this.retryWindowMs = opts.nextUpstreamTimeoutMs ?? 0;
    this.upstream = new HttpProxyUpstream({
      connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
      readTimeoutMs: opts.readTimeoutMs ?? 60_000,
      sendTimeoutMs: opts.sendTimeoutMs ?? 60_000,
      refuseLocalExternalNames: opts.refuseLocalExternalNames ?? false,
    });
    const maxHeaderSize = opts.maxHeaderBytes ?? 16_384;
    const serverOpts = {
      maxHeaderSize,
      requireHostHeader: false,
      shouldUpgradeCallback: isWebSocketUpgrade,
    };
    this.http = this.createListener('http', serverOpts);
    const certificates = (): SniTable => this.active?.certificates ?? NO_CERTIFICATES;
    this.https = this.createListener('https', {
      ...opts.certificates.serverOptions(certificates),
      ...serverOpts,
    });
  }

  private createListener(scheme: Scheme, serverOpts: object): Listener {
    const listener: Listener & { app: FastifyInstance } = {
      scheme,
      observer: this.observer,
      port: scheme === 'http' ? '80' : '443',
      app: undefined as unknown as FastifyInstance,
    };
    const app = Fastify({
      logger: false,
      ...(scheme === 'https' ? { https: serverOpts as never } : { http: serverOpts as never }),
      keepAliveTimeout: 75_000,
      requestTimeout: 0,
      return503OnClosing: false,
      forceCloseConnections: 'idle',
      clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) =>
        this.onClientError(err, socket, listener),
      frameworkErrors: (_err: Error, request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        this.rejectBadRequest(request.raw, reply.raw, listener);
      },
      routerOptions: { maxParamLength: 65_535 },
    } as never) as unknown as FastifyInstance;
    declareAllMethods(app);
    app.removeAllContentTypeParsers();
    // The body is never read here: the proxy streams it once an upstream connection is held.
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const handler = (request: FastifyRequest, reply: FastifyReply): void => {
      reply.hijack();
      this.handle(request.raw, reply.raw, listener);
    };
    app.route({ method: app.supportedMethods.filter((m) => m !== 'CONNECT'), url: '*', handler });
    app.setNotFoundHandler(handler);
    const server = app.server as Server;
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.handleUpgrade(req, socket, head, listener),
    );
    server.on('connect', (_req: IncomingMessage, socket: Socket) => writeRawResponse(socket, 400));
    server.on('connection', (socket: ConnSocket) => {
      socket[kListener] = listener;
      this.observer?.connectionOpened?.(scheme);
      socket.once('close', onConnectionClose);
    });
    listener.app = app;
    return listener;
  }

  /**
   * Replaces the configuration and its endpoints (one turn of the event loop, so no request sees one
   * without the other); requests in flight keep what they started with.
   */
  setActive(active: Active, endpoints: EndpointTable): void {
    this.active = active;
    this.endpoints = endpoints;
  }

  /** Replaces the endpoints alone: an EndpointSlice change needs no new routes. */
  setEndpoints(endpoints: EndpointTable): void {
    this.endpoints = endpoints;
  }

  async listen(): Promise<{ httpPort: number; httpsPort: number }> {
    await this.http.app.listen({ host: this.host, port: this.opts.httpPort });
    await this.https.app.listen({ host: this.host, port: this.opts.httpsPort });
    const httpPort = (this.http.app.server.address() as AddressInfo).port;
    const httpsPort = (this.https.app.server.address() as AddressInfo).port;
    this.http.port = String(httpPort);
    this.https.port = String(httpsPort);
    this.ports = { httpPort, httpsPort };
    return this.ports;
  }

  address(): { httpPort: number; httpsPort: number } | undefined {
    return this.ports;
  }

  /**
   * Graceful close: stop accepting, close idle keep-alive connections, let requests in flight finish
   * (responses written meanwhile carry `Connection: close`), then, or after `timeoutMs`, destroy what
   * is left and close open WebSockets.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = Promise.all([this.http.app.close(), this.https.app.close()]);
    if (this.inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
    for (const l of [this.http, this.https]) (l.app.server as Server).closeAllConnections();
    this.upstream.close();
    await closed;
  }

  // ---- request path -------------------------------------------------------------------------------

  private handle(req: Req, res: Res, listener: Listener): void {
    const ex = new Exchange(this, req, res, listener);
    this.inflight++;
    res[kExchange] = ex;
    res.on('close', onResponseClose);
    ex.clientIp = clientIpOf(req.socket);
    if (req[kBodyError] !== undefined) {
      // The body was already found malformed (it came in the packet of the headers): never forwarded.
      ex.host = normalizeHost(req.headers.host ?? '');
      this.bodyFailed(ex, req[kBodyError]);
      return;
    }

    const headers = req.headers;
    const hostHeader = headers.host;
    const raw = req.rawHeaders;
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    }
    if (hosts > 1 || (hostHeader === undefined && req.httpVersionMinor === 1 && req.httpVersionMajor === 1)) {
      this.answer(ex, 400);
      return;
    }
    const te = headers['transfer-encoding'];
    if (te !== undefined && te.toLowerCase() !== 'chunked') {
      this.answer(ex, 400);
      return;
    }
    const cl = headers['content-length'];
    if (te !== undefined || (cl !== undefined && cl !== '0')) req.once('resume', onBodyResume);
    const rawUrl = req.url ?? '';
    const d = decideRoute(
      listener.scheme,
      rawUrl,
      hostHeader,
      this.active,
      this.endpoints,
      this.redirectPortSuffix,
    );
    ex.path = d.forwardUrl;
    ex.host = d.host;
    ex.route = d.route;
    if (d.kind === 'answer') {
      this.answer(ex, d.status);
      return;
    }
    if (d.kind === 'redirect') {
      sendRedirect(res, d.location, this.closing);
      return;
    }
    if (d.forwardUrl !== rawUrl) {
      // Absolute form: forwarded in origin form, with its authority as Host.
      req.url = d.forwardUrl;
      headers.host = d.authority;
    }
    ex.backend = d.backend;
    ex.endpoints = d.endpoints;
    const requestId = headers['x-request-id'];
    ex.requestId = typeof requestId === 'string' && requestId !== '' ? requestId : this.ids.next();
    rewriteRequestHeaders(
      headers,
      {
        clientIp: ex.clientIp,
        proto: listener.scheme,
        port: listener.port,
        host: d.authority,
        requestId: ex.requestId,
      },
      false,
      te !== undefined,
    );
    if (!this.forwardNext(ex)) this.answer(ex, 503);
  }

  /**
   * Whether a request (or upgrade) whose connection failed may try the next endpoint, with
   * ingress-nginx's meaning: at most --proxy-next-upstream-tries tries in all, the first included
   * (0: no limit), and no new try once --proxy-next-upstream-timeout has passed since the first one
   * started (0: no limit; a try under way keeps its own connect timeout). Each endpoint is tried once
   * at most (the failed ones are excluded), so an unlimited count still stops with the endpoints.
   */
  mayTryAgain(x: Tries): boolean {
    const counted = x.attempts - x.freeTries;
    if (this.maxTries !== 0 && counted >= this.maxTries) return false;
    if (counted >= x.endpoints.length) return false;
    return this.retryWindowMs === 0 || performance.now() - x.start < this.retryWindowMs;
  }

  /** Sends the request to the next endpoint; false when none is left. */
  forwardNext(ex: Exchange): boolean {
    const ep = this.picker.pick(ex.backend!, ex.endpoints, ex.clientIp, ex.exclude);
    if (ep === undefined) return false;
    ex.attempts++;
    ex.lastKey = `${ep.address}:${ep.port}`;
    ex.upstreamAddr = ex.upstreamAddr === '' ? ex.lastKey : `${ex.upstreamAddr}, ${ex.lastKey}`;
    this.upstream.forward(
      ex.req,
      ex.res,
      { address: ep.address, port: ep.port, external: ex.backend!.external },
      ex.fresh,
      ex,
    );
    return true;
  }

  /** A gateway-written response; 400s close the connection (the request may not be framed right). */
  answer(ex: Exchange, status: number): void {
    const res = ex.res;
    if (res.destroyed || res.writableEnded) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendGatewayResponse(res, status, status === 400 || this.closing);
  }

  /**
   * The body of `ex`'s request turned out malformed in flight (`code`: the parser's error, e.g. a bad
   * chunk size, or HPE_INVALID_EOF_STATE for a Content-Length body cut short by the client's FIN). The
   * upstream request is aborted, never completed; then 400 and close when nothing was answered yet, or
   * the connection is cut when a response is under way (`answer`). Reported once, by the exchange: 400,
   * the status of the response under way, or 499 for the FIN (a half-close and a client that left look
   * alike here; the 400 still reaches a client that only half-closed).
   */
  bodyFailed(ex: Exchange, code: string): void {
    if (ex.malformedBody) return;
    ex.malformedBody = true;
    this.upstream.abandon(ex.req);
    if (code === 'HPE_INVALID_EOF_STATE' && !ex.res.headersSent) ex.status = 499;
    this.answer(ex, 400);
  }

  private rejectBadRequest(req: Req, res: Res, listener: Listener): void {
    const ex = new Exchange(this, req, res, listener);
    this.inflight++;
    res[kExchange] = ex;
    res.on('close', onResponseClose);
    ex.clientIp = clientIpOf(req.socket);
    ex.host = normalizeHost(req.headers.host ?? '');
    this.answer(ex, 400);
  }

  exchangeEnded(ex: Exchange): void {
    this.inflight--;
    if (this.inflight === 0) this.drained?.();
    const observer = this.observer;
    if (observer === undefined) return;
    const res = ex.res;
    const req = ex.req;
    const status = ex.status !== 0 ? ex.status : res.headersSent ? res.statusCode : 499;
    // The body as received: all of it when complete (Content-Length), else what was read.
    const cl = req.headers['content-length'];
    const body = cl !== undefined && req.complete ? Number(cl) || 0 : (req[kBodyBytes] ?? 0);
    this.report(recordOf(ex, ex.path, status, headerBytes(req) + body, ex.bytesSent));
  }

  private report(record: RequestRecord): void {
    try {
      this.observer?.requestEnded(record);
    } catch (err) {
      this.logger.error({ err }, 'request observer failed');
    }
  }

  // ---- WebSockets ---------------------------------------------------------------------------------

  private handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, listener: Listener): void {
    socket.on('error', noop);
    const fail = (status: number, route?: Route, host = '', location?: string) => {
      if (location === undefined) writeRawResponse(socket, status);
      else writeRawRedirect(socket, location);
      this.reportRaw(req, socket, listener, status, route, host);
    };
    const headers = req.headers;
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
    if (hosts !== 1 || headers['transfer-encoding'] !== undefined) {
      fail(400);
      return;
    }
    // The same decision as a plain request's: absolute form routed by its authority, 400/404/308/503.
    const rawUrl = req.url ?? '';
    const d = decideRoute(
      listener.scheme,
      rawUrl,
      headers.host,
      this.active,
      this.endpoints,
      this.redirectPortSuffix,
    );
    // Logged (and forwarded) in origin form, as a plain request is.
    req.url = d.forwardUrl;
    if (d.kind === 'answer') {
      fail(d.status, d.route, d.host);
      return;
    }
    if (d.kind === 'redirect') {
      fail(308, d.route, d.host, d.location);
      return;
    }
    if (d.forwardUrl !== rawUrl) headers.host = d.authority;
    const t = new Tunnel(this, req, socket, head, listener, d);
    const requestId = headers['x-request-id'];
    t.requestId = typeof requestId === 'string' && requestId !== '' ? requestId : this.ids.next();
    rewriteRequestHeaders(
      headers,
      {
        clientIp: t.clientIp,
        proto: listener.scheme,
        port: listener.port,
        host: d.authority,
        requestId: t.requestId,
      },
      true,
      false,
    );
    if (!this.tunnelNext(t)) fail(503, d.route, d.host);
  }

  tunnelNext(t: Tunnel): boolean {
    if (this.closing) return false;
    const ep = this.picker.pick(t.backend, t.endpoints, t.clientIp, t.exclude);
    if (ep === undefined) return false;
    t.attempts++;
    t.lastKey = `${ep.address}:${ep.port}`;
    t.upstreamAddr = t.upstreamAddr === '' ? t.lastKey : `${t.upstreamAddr}, ${t.lastKey}`;
    this.upstream.tunnel(
      t.req,
      t.socket,
      t.head,
      { address: ep.address, port: ep.port, external: t.backend.external },
      t,
    );
    return true;
  }

  tunnelEnded(t: Tunnel): void {
    if (t.ended) return;
    t.ended = true;
    if (this.observer === undefined) return;
    this.report(
      recordOf(t, t.req.url ?? '', t.status, headerBytes(t.req), t.socket.bytesWritten - t.bytesAtStart),
    );
  }

  private reportRaw(
    req: IncomingMessage | undefined,
    socket: Socket,
    listener: Listener,
    status: number,
    route: Route | undefined,
    host: string,
  ): void {
    if (this.observer === undefined) return;
    this.report({
      time: new Date().toISOString(),
      remote_addr: clientIpOf(socket),
      method: req?.method ?? '',
      host,
      path: req?.url ?? '',
      status,
      bytes_sent: rawResponseLength(status),
      request_length: req === undefined ? 0 : headerBytes(req),
      request_time: 0,
      namespace: route?.namespace ?? '',
      ingress: route?.ingress ?? '',
      service: route?.service ?? '',
      upstream_addr: '',
      upstream_status: '',
      upstream_response_time: null,
      req_id: '',
      route,
      scheme: listener.scheme,
    });
  }

  /** Node's parser rejected the request (or the connection failed): answer 400/431 and close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket, listener: Listener): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    // Bytes after a request that ends the connection (`Connection: close`, HTTP/1.0 without
    // keep-alive; RFC 9112 §9.6): never a request. The response in flight is the last one and Node
    // closes the connection after it; with none in flight, the connection is closed now.
    if (code === 'HPE_CLOSED_CONNECTION') {
      const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (current == null) socket.end();
      return;
    }
    // The parser failed in the body of the request in flight (a bad chunk size, the client half-closed
    // before the Content-Length was read): that request's own exchange answers and reports it.
    const incoming = (socket as Socket & { parser?: { incoming?: Req | null } | null }).parser?.incoming;
    if (code.startsWith('HPE_') && incoming != null && !incoming.complete) {
      const ex = incoming[kExchange];
      if (ex === undefined) {
        // Found before the handler ran: `handle` answers 400 (parse errors of later bytes repeat this).
        incoming[kBodyError] ??= code;
      } else if (ex === null) {
        // Answered and reported already (a 404 whose body was being discarded): just close.
        socket.destroy();
      } else {
        this.bodyFailed(ex, code);
      }
      return;
    }
    // Bytes already sent on this connection (a response under way): nothing sane can follow.
    const busy = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (busy?.headersSent) {
      socket.destroy();
      return;
    }
    // The client closed its side mid-body: nobody is left to answer; the request in flight is
    // reported by its own exchange (499), not as a second, answered request.
    if (code === 'HPE_INVALID_EOF_STATE' && busy != null) {
      socket.destroy();
      return;
    }
    const status =
      code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : code.startsWith('HPE_')
            ? 400
            : 0;
    if (status === 0) {
      socket.destroy();
      return;
    }
    writeRawResponse(socket, status);
    this.reportRaw(undefined, socket, listener, status, undefined, '');
  }
}

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && upgrade !== undefined && upgrade.toLowerCase() === 'websocket';
}

function noop(): void {}
