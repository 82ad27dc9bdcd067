// The data plane: a plain and a TLS listener serving HTTP/1.x on raw sockets (http1/server-connection,
// Node's llhttp in strict mode), routing each request through the active configuration (routes,
// certificates) and proxying it over pooled keep-alive connections (http1/upstream-pool) to an endpoint
// from the endpoint table. Each is read once per request and replaced by one reference swap.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { normalizeHost } from '@gateway/routing';
import type { Backend, Endpoint, EndpointTable } from '@gateway/translate';
import { AcceptorGroup } from './acceptors.js';
import { isoNow, type Reported, recordOf } from './access-record.js';
import { Forward } from './forwarding.js';
import { connectionErrorResponse, rawResponseLength } from './gateway-responses.js';
import { ConnectionClock } from './http1/clock.js';
import { MemberList } from './http1/member-list.js';
import {
  type Exchange,
  ServerConnection,
  type ServerConnectionHandler,
  type ServerConnectionOptions,
} from './http1/server-connection.js';
import { UpstreamPool } from './http1/upstream-pool.js';
import { listenerFields, RequestHead, upstreamHeaderBlock } from './request-head.js';
import { RequestIds } from './request-ids.js';
import { decideRoute } from './route-decision.js';
import { stopPretenuring } from './serving-heap.js';
import { Tunnel } from './tunnel.js';
import type {
  Active,
  DataPlaneOptions,
  Logger,
  RequestObserver,
  RequestRecord,
  Scheme,
  SniTable,
} from './types.js';
import { ExternalTargets, upstreamConnector } from './upstream-connect.js';

/**
 * What a retry decision reads (`DataPlane.mayTryAgain`), for a plain request and an upgrade alike.
 * `attempts` counts every try; `freeTries` those that do not count against --proxy-next-upstream-tries
 * (the replay after a stale pooled connection). `start` is when the request arrived, which is when its
 * first try started.
 */
export interface Tries {
  readonly startedAt: number;
  readonly endpoints: readonly Endpoint[];
  readonly backend: Backend | undefined;
  readonly clientIp: string;
  readonly exclude: Set<string> | undefined;
  attempts: number;
  readonly freeTries: number;
  lastKey: string;
  upstreamAddr: string;
}

const kListener = Symbol('gateway.listener');
type CountedSocket = net.Socket & { [kListener]?: Listener };

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const NO_CERTIFICATES: SniTable = { lookup: () => undefined };
const NO_ENDPOINTS: EndpointTable = new Map();

/** One listening port: its scheme, the forwarded fields it sets, and the connections' handler. */
export class Listener implements ServerConnectionHandler {
  /** X-Forwarded-Port: the port this listener accepted on. */
  port: string;
  /** `X-Forwarded-Proto` and `X-Forwarded-Port` lines. */
  fields: string;

  constructor(
    readonly plane: DataPlane,
    readonly scheme: Scheme,
  ) {
    this.port = scheme === 'http' ? '80' : '443';
    this.fields = listenerFields(scheme, this.port);
  }

  setPort(port: number): void {
    this.port = String(port);
    this.fields = listenerFields(this.scheme, this.port);
  }

  onRequest(ex: Exchange): void {
    this.plane.handle(ex, this);
  }

  onClientError(
    connection: ServerConnection,
    status: number,
    _code: string,
    exchange: Exchange | null,
  ): void {
    // An exchange the handler had reports itself; a request that never reached it is reported here.
    if (exchange === null || exchange.listener === null) {
      this.plane.reportRejected(connection.socket, this, status, exchange);
    }
  }

  onClose(connection: ServerConnection): void {
    this.plane.connections.delete(connection);
  }
}

function clientIpOf(socket: net.Socket): string {
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function onCountedClose(this: CountedSocket): void {
  const l = this[kListener];
  if (l !== undefined) l.plane.observer?.connectionClosed?.(l.scheme);
}

export class DataPlane {
  private active: Active | undefined = undefined;
  private endpoints: EndpointTable = NO_ENDPOINTS;
  closing = false;
  readonly observer: RequestObserver | undefined;
  readonly pool: UpstreamPool;
  readonly connections = new MemberList<ServerConnection>('plane connection slot');
  readonly tunnels = new MemberList<Tunnel>('plane tunnel slot');
  private readonly logger: Logger;
  private readonly picker: DataPlaneOptions['picker'];
  private readonly externals = new ExternalTargets();
  private readonly ids = new RequestIds(randomBytes(10).toString('hex'));
  private readonly host: string;
  private readonly redirectPortSuffix: string;
  /** --proxy-next-upstream-tries (0: no limit) and --proxy-next-upstream-timeout in ms (0: none). */
  private readonly maxTries: number;
  private readonly retryWindowMs: number;
  private readonly connectionOptions: ServerConnectionOptions;
  private readonly http: Listener;
  private readonly https: Listener;
  private readonly httpAcceptors: AcceptorGroup<net.Server>;
  private readonly httpsAcceptors: AcceptorGroup<tls.Server>;
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
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    const readTimeoutMs = opts.readTimeoutMs ?? 60_000;
    const sendTimeoutMs = opts.sendTimeoutMs ?? 60_000;
    // Deadlines are checked by one timer; it ticks often enough for the shortest timeout in use.
    const shortest = Math.min(connectTimeoutMs, readTimeoutMs, sendTimeoutMs, 1000);
    const clock = new ConnectionClock(Math.max(10, Math.floor(shortest / 5)));
    this.pool = new UpstreamPool({
      connectTimeoutMs,
      readTimeoutMs,
      sendTimeoutMs,
      maxIdlePerEndpoint: 320,
      idleTimeoutMs: 60_000,
      clock,
      connect: upstreamConnector(opts.refuseLocalExternalNames ?? false),
    });
    this.connectionOptions = {
      maxHeaderSize: opts.maxHeaderBytes ?? 16_384,
      headersTimeoutMs: 60_000,
      // nginx's client_body_timeout; the gateway has one send timeout for both sides of the body.
      bodyTimeoutMs: sendTimeoutMs,
      keepAliveTimeoutMs: 75_000,
      clock,
      errorResponse: connectionErrorResponse,
      answerBodyTimeout: false,
    };
    this.http = new Listener(this, 'http');
    this.https = new Listener(this, 'https');
    const acceptors = { count: opts.acceptors ?? 1, siblings: opts.reusePortWithSiblings ?? false };
    this.httpAcceptors = new AcceptorGroup(() => {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        this.accept(socket, this.http),
      );
      server.on('connection', (socket: CountedSocket) => this.counted(socket, this.http));
      return server;
    }, acceptors);
    const certificates = (): SniTable => this.active?.certificates ?? NO_CERTIFICATES;
    // One set of session-ticket keys for the group, so a resumed session may land on any of its sockets:
    // the certificate source's (the gateway's store: the same in every worker), else made here.
    const tlsOptions = { ticketKeys: randomBytes(48), ...opts.certificates.serverOptions(certificates) };
    this.httpsAcceptors = new AcceptorGroup(() => {
      const server = tls.createServer({ ...tlsOptions, allowHalfOpen: true, noDelay: true });
      server.on('connection', (socket: CountedSocket) => this.counted(socket, this.https));
      server.on('secureConnection', (socket: tls.TLSSocket) => this.accept(socket, this.https));
      server.on('tlsClientError', noop);
      return server;
    }, acceptors);
  }

  private counted(socket: CountedSocket, listener: Listener): void {
    socket[kListener] = listener;
    this.observer?.connectionOpened?.(listener.scheme);
    socket.once('close', onCountedClose);
  }

  private accept(socket: net.Socket, listener: Listener): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(new ServerConnection(socket, listener, this.connectionOptions));
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

  /**
   * Opens the ports of the options; `join`: the ports a sibling process opened (with
   * `reusePortWithSiblings`), bound alongside its sockets.
   */
  async listen(join?: {
    httpPort: number;
    httpsPort: number;
  }): Promise<{ httpPort: number; httpsPort: number }> {
    stopPretenuring();
    const joining = join !== undefined;
    const httpPort = await this.httpAcceptors.listen(
      this.host,
      join?.httpPort ?? this.opts.httpPort,
      joining,
    );
    const httpsPort = await this.httpsAcceptors.listen(
      this.host,
      join?.httpsPort ?? this.opts.httpsPort,
      joining,
    );
    this.http.setPort(httpPort);
    this.https.setPort(httpsPort);
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
    const closed = Promise.all([this.httpAcceptors.close(), this.httpsAcceptors.close()]);
    this.connections.forEach((c) => {
      c.closeWhenIdle();
    });
    if (this.inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    this.tunnels.forEach((t) => {
      t.destroy();
    });
    this.tunnels.clear();
    this.connections.forEach((c) => {
      c.destroy();
    });
    this.connections.clear();
    this.pool.close();
    await closed;
  }

  // ---- request path -------------------------------------------------------------------------------

  /** @internal A request head arrived on `listener`. */
  handle(ex: Exchange, listener: Listener): void {
    const head = new RequestHead(ex.method, ex.url, ex.rawHeaders);
    if (ex.upgrade && head.upgradeWebSocket && ex.method === 'GET' && ex.versionMajor === 1) {
      this.handleUpgrade(ex, head, listener);
      return;
    }
    const f = new Forward(this, ex, listener, head);
    this.inflight++;
    ex.listen(f);
    f.clientIp = clientIpOf(ex.connection.socket);
    // llhttp reads any one-digit major version ("GET / HTTP/2.0" parses); only 1.x is HTTP/1 (RFC 9110
    // §15.6.6), as nginx answers.
    if (ex.versionMajor !== 1) {
      f.answer(505, true);
      return;
    }
    if (ex.method === 'CONNECT') {
      f.answer(400, true);
      return;
    }
    if (head.hosts > 1 || (head.host === undefined && ex.versionMajor === 1 && ex.versionMinor === 1)) {
      f.answer(400, true);
      return;
    }
    const te = head.transferEncoding;
    if (te !== undefined && te.toLowerCase() !== 'chunked') {
      f.answer(400, true);
      return;
    }
    const rawUrl = ex.url;
    const d = decideRoute(
      listener.scheme,
      rawUrl,
      head.host,
      this.active,
      this.endpoints,
      this.redirectPortSuffix,
    );
    f.path = d.forwardUrl;
    f.host = d.host;
    f.route = d.route;
    if (d.kind === 'answer') {
      f.answer(d.status, d.status === 400);
      return;
    }
    if (d.kind === 'redirect') {
      f.redirect(d.location);
      return;
    }
    f.backend = d.backend;
    f.endpoints = d.endpoints;
    f.requestId = head.requestId !== '' ? head.requestId : this.ids.next();
    const block = upstreamHeaderBlock(
      head,
      ex.rawHeaders,
      {
        clientIp: f.clientIp,
        listenerFields: listener.fields,
        authority: d.authority,
        requestId: f.requestId,
      },
      false,
    );
    if (d.authority === '') f.hostless = block;
    f.upstream = {
      method: ex.method,
      path: d.forwardUrl,
      headers: block,
      bodyLength: te !== undefined ? -1 : head.contentLength !== undefined ? Number(head.contentLength) : 0,
    };
    if (!this.forwardNext(f)) f.answer(503, false);
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
    return this.retryWindowMs === 0 || performance.now() - x.startedAt < this.retryWindowMs;
  }

  /** Picks the next endpoint for `x` and records it; undefined when none is left. */
  private nextEndpoint(x: Tries): Endpoint | undefined {
    const ep = this.picker.pick(x.backend!, x.endpoints, x.clientIp, x.exclude);
    if (ep === undefined) return undefined;
    x.attempts++;
    const key = `${ep.address}:${ep.port}`;
    x.lastKey = key;
    x.upstreamAddr = x.upstreamAddr === '' ? key : `${x.upstreamAddr}, ${key}`;
    return ep;
  }

  /** Sends the request to the next endpoint; false when none is left. */
  forwardNext(f: Forward): boolean {
    const ep = this.nextEndpoint(f);
    if (ep === undefined) return false;
    f.send(f.backend!.external ? this.externals.of(ep) : ep, f.lastKey);
    return true;
  }

  /** @internal */
  exchangeEnded(
    f: Reported & { listener: Listener },
    status: number,
    requestLength: number,
    sent: number,
  ): void {
    this.inflight--;
    if (this.inflight === 0) this.drained?.();
    if (this.observer === undefined) return;
    this.report(recordOf(f, f.listener.scheme, status, requestLength, sent));
  }

  private report(record: RequestRecord): void {
    try {
      this.observer?.requestEnded(record);
    } catch (err) {
      this.logger.error({ err }, 'request observer failed');
    }
  }

  /** @internal The connection rejected a request before it reached the handler (400, 408, 431). */
  reportRejected(socket: net.Socket, listener: Listener, status: number, ex: Exchange | null): void {
    if (this.observer === undefined) return;
    const head = ex === null ? undefined : new RequestHead(ex.method, ex.url, ex.rawHeaders);
    this.report({
      time: isoNow(),
      remote_addr: clientIpOf(socket),
      method: ex?.method ?? '',
      host: head?.host === undefined ? '' : normalizeHost(head.host),
      path: ex?.url ?? '',
      status,
      bytes_sent: rawResponseLength(status),
      request_length: head?.bytes ?? 0,
      request_time: 0,
      namespace: '',
      ingress: '',
      service: '',
      upstream_addr: '',
      upstream_status: '',
      upstream_response_time: null,
      req_id: '',
      route: undefined,
      scheme: listener.scheme,
    });
  }

  // ---- WebSockets ---------------------------------------------------------------------------------

  private handleUpgrade(ex: Exchange, head: RequestHead, listener: Listener): void {
    const t = new Tunnel(this, ex, listener, head);
    ex.listen(t);
    t.clientIp = clientIpOf(ex.connection.socket);
    if (head.hosts !== 1 || head.transferEncoding !== undefined) {
      t.answer(400);
      return;
    }
    // The same decision as a plain request's: absolute form routed by its authority, 400/404/308/503.
    const d = decideRoute(
      listener.scheme,
      ex.url,
      head.host,
      this.active,
      this.endpoints,
      this.redirectPortSuffix,
    );
    // Logged (and forwarded) in origin form, as a plain request is.
    t.path = d.forwardUrl;
    t.host = d.host;
    t.route = d.route;
    if (d.kind === 'answer') {
      t.answer(d.status);
      return;
    }
    if (d.kind === 'redirect') {
      t.redirect(d.location);
      return;
    }
    t.backend = d.backend;
    t.endpoints = d.endpoints;
    t.requestId = head.requestId !== '' ? head.requestId : this.ids.next();
    t.upstream = {
      method: 'GET',
      path: d.forwardUrl,
      headers: upstreamHeaderBlock(
        head,
        ex.rawHeaders,
        {
          clientIp: t.clientIp,
          listenerFields: listener.fields,
          authority: d.authority,
          requestId: t.requestId,
        },
        true,
      ),
      bodyLength: 0,
    };
    if (!this.tunnelNext(t)) t.answer(503);
  }

  tunnelNext(t: Tunnel): boolean {
    if (this.closing) return false;
    const ep = this.nextEndpoint(t);
    if (ep === undefined) return false;
    t.send(t.backend!.external ? this.externals.of(ep) : ep);
    return true;
  }

  /** @internal */
  tunnelEnded(t: Tunnel, status: number, requestLength: number, sent: number): void {
    if (this.observer === undefined) return;
    this.report(recordOf(t, t.listener.scheme, status, requestLength, sent));
  }
}

function noop(): void {}
