// HTTP/1.1 to backends over pooled keep-alive `net` sockets, responses parsed by Node's own llhttp
// (RESPONSE mode, strict). Transport-neutral, like undici's dispatcher: one `dispatch(target, head, body,
// handler)` call; the handler is a plain object (head, data, end, error); the returned controller has
// pause()/resume() for backpressure. The caller owns the client's response.
//
// Pooling: a LIFO stack of idle sockets per endpoint (at most `maxIdlePerEndpoint`, idle timeout
// `idleTimeoutMs`), as nginx's upstream `keepalive`. A response with `Connection: close`, an HTTP/1.0
// response without keep-alive, one that ended before the request body was sent, or a close-delimited
// one is never pooled.

import net from 'node:net';
import type { UpstreamFailure } from '../upstream-failure.js';
import { type ConnectionClock, type DeadlineOwner, defaultClock } from './clock.js';
import {
  DEFAULT_MAX_HEADER_FIELDS,
  DEFAULT_MAX_HEADER_SIZE,
  Http1Parser,
  type ParseError,
  type ParserHandler,
  startHandleReading,
  stopHandleReading,
} from './parser.js';
import { holdWrites } from './write-batch.js';

/** Where to send. The pool keys endpoints by address and port. */
export interface PoolTarget {
  readonly address: string;
  readonly port: number;
}

/** Failures this transport reports (see UpstreamFailure in ../upstream-client.ts for their meaning). */
export type PoolFailure = Exclude<UpstreamFailure, 'client' | 'client-timeout'>;

export interface DispatchHead {
  method: string;
  /** The request-target, sent as is. */
  path: string;
  /**
   * End-to-end header fields, already rewritten for the backend: flat [name, value, …], or a
   * preformatted block (`Name: value\r\n…`, string or Buffer, precomputed per route). No framing
   * fields: the pool adds Content-Length / Transfer-Encoding from `bodyLength`.
   */
  headers: readonly string[] | string | Buffer;
  /** 0 or absent: no body; > 0: Content-Length; -1: chunked. */
  bodyLength?: number;
  /**
   * May be replayed on a fresh connection when a pooled one turns out closed (`stale`). Default: the
   * method is idempotent (RFC 9110 §9.2.2) and there is no body.
   */
  idempotent?: boolean;
}

/** A request body the pool pulls once a connection is held (no byte is read before). */
export interface RequestBodySource {
  /**
   * Deliver the body through `controller.writeBody` / `controller.endBody`. May be called before
   * `dispatch` returns (a pooled connection was free): use this `controller`.
   */
  start(controller: DispatchController): void;
  /** The upstream socket is full: stop until `resume`. */
  pause(): void;
  resume(): void;
  /** The dispatch is over before the body was sent whole: stop for good. */
  abort(): void;
}

export interface DispatchHandler {
  /** The response head (1xx other than 101 are skipped). `rawHeaders` flat, names as sent. */
  onHead(status: number, rawHeaders: string[], statusMessage: string, controller: DispatchController): void;
  /** A body chunk. Return false to stop reading the backend until `controller.resume()`. */
  onData(chunk: Buffer, controller: DispatchController): boolean;
  /** The response ended (trailers flat, empty if none). */
  onEnd(trailers: string[], controller: DispatchController): void;
  /** The dispatch failed; nothing else is called afterwards. */
  onError(kind: PoolFailure, controller: DispatchController, error?: Error): void;
  /**
   * A 101 answer to an upgrade request: the socket (paused, never pooled) and bytes read past the head
   * are the caller's. Without this method a 101 is a `protocol` failure.
   */
  onUpgrade?(
    status: number,
    rawHeaders: string[],
    socket: net.Socket,
    head: Buffer,
    controller: DispatchController,
  ): void;
}

export interface UpstreamPoolOptions {
  /** Idle keep-alive sockets kept per endpoint (ingress-nginx upstream keepalive). Default 320. */
  maxIdlePerEndpoint?: number;
  /** An idle pooled socket is closed after this many ms. Default 60 s. */
  idleTimeoutMs?: number;
  /** Default 5 s (ingress-nginx proxy-connect-timeout). */
  connectTimeoutMs?: number;
  /** Longest wait between two reads of a response (nginx proxy_read_timeout). Default 60 s. */
  readTimeoutMs?: number;
  /**
   * Longest wait between two writes of the request body to a backend that does not read it (nginx
   * proxy_send_timeout). A body waiting for the client's bytes is not the backend's delay: the client
   * side times that out. Default 60 s.
   */
  sendTimeoutMs?: number;
  maxHeaderSize?: number;
  clock?: ConnectionClock;
  /** Opens a connection (TLS upstreams, tests). Default `net.connect`. */
  connect?: (target: PoolTarget) => net.Socket;
}

enum State {
  Connecting = 0,
  Sending = 1,
  Idle = 2,
  Closed = 3,
}

const EMPTY = Buffer.alloc(0);
const CRLF = '\r\n';

/** The handle of one request in flight. */
export class DispatchController {
  /** Whether the request went out on a connection taken from the pool. */
  reused = false;
  /** Response status, 0 before the head. */
  status = 0;
  /** @internal */ conn: UpstreamConnection | null = null;
  /** @internal */ done = false;
  /** @internal */ paused = false;
  /** @internal */ bodyDone = false;
  /** @internal */ headAtLeast = false;
  /** @internal */ chunked = false;

  constructor(
    readonly pool: UpstreamPool,
    readonly target: PoolTarget,
    readonly head: DispatchHead,
    readonly body: RequestBodySource | null,
    readonly handler: DispatchHandler,
  ) {}

  /** Stops reading the response (client backpressure). */
  pause(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.conn?.pauseReading();
  }

  resume(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.conn?.resumeReading();
  }

  /** Sends request body bytes; false: the socket is full (the source was told to pause). */
  writeBody(chunk: Buffer): boolean {
    const conn = this.conn;
    if (this.done || this.bodyDone || conn === null || chunk.length === 0) return !this.done;
    return conn.writeBody(this, chunk);
  }

  /** Ends the request body (trailers are sent when it is chunked). */
  endBody(trailers?: readonly string[] | null): void {
    if (this.done || this.bodyDone || this.conn === null) return;
    this.bodyDone = true;
    this.conn.endBody(this, trailers);
  }

  /** Gives up on the request (the client went away): the connection is closed, no handler call follows. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.body?.abort();
    this.conn?.destroy();
  }
}

/** One backend socket with its response parser. */
class UpstreamConnection implements ParserHandler, DeadlineOwner {
  deadline = 0;
  state = State.Connecting;
  dispatch: DispatchController | null = null;
  private readonly parser: Http1Parser;
  private keepAlive = false;
  private responseBytes = false;
  private informational = false;
  private upgraded = false;
  private readPaused = false;
  /** The parser reads the socket's handle itself (no 'data' events). */
  private readonly consumed: boolean;
  private readonly onConnectBound = () => this.onConnect();
  private readonly onDataBound = (chunk: Buffer) => this.onData(chunk);
  private readonly onDrainBound = () => this.dispatch?.body?.resume();
  private readonly onEndBound = () => this.onEnd();
  private readonly onErrorBound = (err: Error) => this.onError(err);
  private readonly onCloseBound = () => this.onClose();

  constructor(
    readonly pool: UpstreamPool,
    readonly endpoint: Endpoint,
    readonly socket: net.Socket,
  ) {
    this.parser = Http1Parser.acquire('response', this, pool.maxHeaderSize);
    socket.setNoDelay(true);
    socket.on('connect', this.onConnectBound);
    socket.on('data', this.onDataBound);
    socket.on('drain', this.onDrainBound);
    socket.on('end', this.onEndBound);
    socket.on('error', this.onErrorBound);
    socket.on('close', this.onCloseBound);
    this.consumed = this.parser.consume(socket);
    this.deadline = pool.clock.now() + pool.connectTimeoutMs;
    pool.clock.add(this);
  }

  /** Sends the head of `d` (the connection is connected and free). */
  send(d: DispatchController): void {
    this.dispatch = d;
    d.conn = this;
    this.state = State.Sending;
    this.keepAlive = false;
    this.responseBytes = false;
    const head = d.head;
    const length = head.bodyLength ?? 0;
    let line = `${head.method} ${head.path} HTTP/1.1\r\n`;
    const headers = head.headers;
    let framing: string;
    if (length > 0) framing = `Content-Length: ${length}\r\n\r\n`;
    else if (length < 0) {
      framing = 'Transfer-Encoding: chunked\r\n\r\n';
      d.chunked = true;
    } else {
      framing = CRLF;
      d.bodyDone = true;
    }
    const socket = this.socket;
    holdWrites(socket);
    if (typeof headers === 'string') {
      socket.write(line + headers + framing, 'latin1');
    } else if (Buffer.isBuffer(headers)) {
      socket.cork();
      socket.write(line, 'latin1');
      socket.write(headers);
      socket.write(framing, 'latin1');
      socket.uncork();
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) line += `${headers[i]}: ${headers[i + 1]}\r\n`;
      socket.write(line + framing, 'latin1');
    }
    const pool = this.pool;
    this.deadline = pool.clock.now() + (d.bodyDone ? pool.readTimeoutMs : pool.sendTimeoutMs);
    if (d.body !== null && !d.bodyDone) d.body.start(d);
  }

  writeBody(d: DispatchController, chunk: Buffer): boolean {
    const socket = this.socket;
    let ok: boolean;
    if (d.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF, 'latin1');
      socket.uncork();
    } else ok = socket.write(chunk);
    if (!this.readPaused) this.deadline = this.pool.clock.now() + this.pool.sendTimeoutMs;
    if (!ok) d.body?.pause();
    return ok;
  }

  endBody(d: DispatchController, trailers: readonly string[] | null | undefined): void {
    if (!this.readPaused && !d.headAtLeast) this.deadline = this.pool.clock.now() + this.pool.readTimeoutMs;
    if (!d.chunked) return;
    let last = '0\r\n';
    if (trailers)
      for (let i = 0; i + 1 < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
    this.socket.write(`${last}\r\n`, 'latin1');
    if (this.dispatch === d && d.done) this.maybeRelease();
  }

  pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.deadline = 0;
    this.socket.pause();
    if (this.consumed) stopHandleReading(this.socket);
  }

  resumeReading(): void {
    if (!this.readPaused || this.state === State.Closed) return;
    this.readPaused = false;
    this.deadline = this.pool.clock.now() + this.pool.readTimeoutMs;
    this.socket.resume();
    if (this.consumed) startHandleReading(this.socket);
  }

  destroy(): void {
    if (this.state === State.Closed) return;
    this.socket.destroy();
    this.onClose();
  }

  // ---- parser events -----------------------------------------------------------------------

  onMessageBegin(): void {
    // A second response to one request (or bytes after the response): the stream is out of step.
    if (this.dispatch === null || this.dispatch.done) this.garbage = true;
    else this.responseBytes = true;
  }

  private garbage = false;
  /** The response head had more header fields than a request may (DEFAULT_MAX_HEADER_FIELDS). */
  private overFields = false;

  onHeadersComplete(
    _major: number,
    _minor: number,
    rawHeaders: string[],
    _method: string,
    _url: string,
    status: number,
    statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number {
    const d = this.dispatch;
    if (d === null || d.done) return 0;
    if (status < 200 && status !== 101) {
      this.informational = true;
      return 0;
    }
    this.informational = false;
    if (rawHeaders.length > 2 * DEFAULT_MAX_HEADER_FIELDS) {
      // node:http's client drops the fields past its maxHeadersCount; a proxy must not pass on a
      // response the backend did not send. Failed once execute() returns (502, as a malformed head);
      // 2 makes llhttp stop at this head (it still reports the message complete, ignored).
      this.overFields = true;
      return 2;
    }
    d.status = status;
    d.headAtLeast = true;
    this.keepAlive = shouldKeepAlive;
    if (status === 101 || upgrade) {
      this.upgraded = true;
      this.upgradeHeaders = rawHeaders;
      return 0;
    }
    d.handler.onHead(status, rawHeaders, statusMessage, d);
    return d.head.method === 'HEAD' ? 1 : 0;
  }

  onBody(chunk: Buffer): void {
    const d = this.dispatch;
    if (d === null || d.done || this.overFields) return;
    if (!d.handler.onData(chunk, d)) d.pause();
  }

  onMessageComplete(trailers: string[]): void {
    if (this.informational) {
      this.informational = false;
      return;
    }
    const d = this.dispatch;
    if (d === null || d.done || this.upgraded || this.overFields) return;
    d.done = true;
    d.handler.onEnd(trailers, d);
    this.maybeRelease();
  }

  // ---- socket events -----------------------------------------------------------------------

  private onConnect(): void {
    const d = this.dispatch;
    if (d === null || d.done) {
      this.destroy();
      return;
    }
    this.send(d);
  }

  /** Bytes that came through the socket's stream (a socket the parser could not consume). */
  private onData(chunk: Buffer): void {
    if (!this.accepts()) return;
    this.parsed(this.parser.execute(chunk), chunk);
  }

  /**
   * A read the parser consumed and parsed already. The response may have ended inside it and the
   * connection gone back to the pool: then only bytes beyond the response are wrong.
   */
  onExecute(ret: number | ParseError): void {
    if (this.state === State.Closed) return;
    if (this.state !== State.Sending) {
      if (this.garbage || typeof ret !== 'number') this.destroy();
      return;
    }
    this.deadline = this.readPaused ? 0 : this.pool.clock.now() + this.pool.readTimeoutMs;
    this.parsed(ret, null);
  }

  private accepts(): boolean {
    if (this.state !== State.Sending) {
      // Bytes on an idle connection: nobody asked; it cannot be trusted any more.
      this.destroy();
      return false;
    }
    this.responseBytes = true;
    this.deadline = this.readPaused ? 0 : this.pool.clock.now() + this.pool.readTimeoutMs;
    return true;
  }

  /** `chunk`: the bytes parsed, when they came as a 'data' event (else the parser has them). */
  private parsed(ret: number | ParseError, chunk: Buffer | null): void {
    if (this.garbage) {
      this.destroy();
      return;
    }
    if (this.overFields) {
      this.overFields = false;
      this.fail(
        'protocol',
        new Error(`a response head with more than ${DEFAULT_MAX_HEADER_FIELDS} header fields`),
      );
      return;
    }
    const d = this.dispatch;
    if (typeof ret !== 'number') {
      this.fail(d?.headAtLeast ? 'truncated' : 'protocol', ret);
      return;
    }
    if (this.upgraded && d !== null && !d.done) {
      d.done = true;
      // What followed the 101 in the same read is the other protocol's first bytes (taken before the
      // parser lets go of the socket).
      const read = chunk ?? this.parser.currentBuffer();
      this.detach();
      const handler = d.handler;
      if (handler.onUpgrade === undefined || d.status !== 101) {
        handler.onError('protocol', d);
        this.socket.destroy();
        return;
      }
      this.socket.pause();
      // The socket's own reads again (see ServerConnection.maybeHandOver).
      if (this.consumed) startHandleReading(this.socket);
      handler.onUpgrade(
        d.status,
        this.upgradeHeaders,
        this.socket,
        ret < read.length ? read.subarray(ret) : EMPTY,
        d,
      );
    }
  }

  private upgradeHeaders: string[] = [];

  private onEnd(): void {
    if (this.state === State.Sending && this.dispatch !== null && !this.dispatch.done) {
      // A close-delimited body ends here; anything else was cut short.
      const d = this.dispatch;
      const err = this.parser.finish();
      if (!d.done) this.fail(d.headAtLeast ? 'truncated' : this.earlyKind(), err);
    }
    this.destroy();
  }

  private onError(err: Error): void {
    if (this.state === State.Connecting) this.fail('connect', err);
    else if (this.state === State.Sending)
      this.fail(this.dispatch?.headAtLeast ? 'truncated' : this.earlyKind(), err);
    this.destroy();
  }

  private onClose(): void {
    if (this.state === State.Closed) return;
    const d = this.dispatch;
    if (d !== null && !d.done) this.fail(d.headAtLeast ? 'truncated' : this.earlyKind());
    this.detach();
  }

  onDeadline(now: number): void {
    const d = this.dispatch;
    if (this.state === State.Sending && d !== null && !d.bodyDone && !d.headAtLeast) {
      if (this.socket.writableLength === 0) {
        // Everything given was sent: the body waits for the client, whose own timeout applies.
        this.deadline = now + this.pool.sendTimeoutMs;
        return;
      }
    }
    this.deadline = 0;
    if (this.state === State.Connecting) this.fail('connect-timeout');
    else if (this.state === State.Sending) this.fail('timeout');
    this.destroy();
  }

  /** A failure before any response byte: a pooled socket the backend had closed is `stale`. */
  private earlyKind(): PoolFailure {
    const d = this.dispatch;
    if (d?.reused && !this.responseBytes && (d.head.bodyLength ?? 0) === 0) {
      const idempotent = d.head.idempotent ?? IDEMPOTENT.has(d.head.method);
      if (idempotent) return 'stale';
    }
    return 'reset';
  }

  private fail(kind: PoolFailure, error?: Error): void {
    const d = this.dispatch;
    if (d === null || d.done) return;
    d.done = true;
    this.keepAlive = false;
    d.body?.abort();
    d.handler.onError(kind, d, error);
    this.destroy();
  }

  private maybeRelease(): void {
    const d = this.dispatch;
    if (d === null || !d.done) return;
    if (!d.bodyDone) {
      // The response ended before the request body: this connection is out of step for good.
      d.body?.abort();
      this.destroy();
      return;
    }
    d.conn = null;
    this.dispatch = null;
    if (!this.keepAlive || this.readPaused || this.pool.closing) {
      this.destroy();
      return;
    }
    this.pool.release(this);
  }

  /** Makes the connection idle (called by the pool). */
  idle(): void {
    this.state = State.Idle;
    this.deadline = this.pool.clock.now() + this.pool.idleTimeoutMs;
  }

  /** Removes the connection from the pool and its clock; the socket stays open (upgrades) or closes. */
  private detach(): void {
    if (this.state === State.Closed) return;
    const wasIdle = this.state === State.Idle;
    this.state = State.Closed;
    this.deadline = 0;
    this.pool.clock.delete(this);
    if (wasIdle) this.endpoint.remove(this);
    this.pool.connectionClosed(this.endpoint);
    this.parser.release();
    const socket = this.socket;
    socket.removeListener('connect', this.onConnectBound);
    socket.removeListener('data', this.onDataBound);
    socket.removeListener('drain', this.onDrainBound);
    socket.removeListener('end', this.onEndBound);
    socket.removeListener('close', this.onCloseBound);
    socket.removeListener('error', this.onErrorBound);
    socket.on('error', ignore);
  }
}

function ignore(): void {}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

class Endpoint {
  readonly idle: UpstreamConnection[] = [];
  /** Connections open to it (connecting, busy or idle); at 0 it leaves the pool's table. */
  open = 0;
  constructor(readonly key: string) {}
  remove(conn: UpstreamConnection): void {
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

export class UpstreamPool {
  readonly maxIdlePerEndpoint: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly maxHeaderSize: number;
  readonly clock: ConnectionClock;
  closing = false;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly byTarget = new WeakMap<PoolTarget, Endpoint>();
  private readonly connect: (target: PoolTarget) => net.Socket;

  constructor(options: UpstreamPoolOptions = {}) {
    this.maxIdlePerEndpoint = options.maxIdlePerEndpoint ?? 320;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.clock = options.clock ?? defaultClock;
    this.connect = options.connect ?? defaultConnect;
  }

  /**
   * Sends one request. `fresh` skips the pool (a retry after `stale`). Exactly one of the handler's
   * onEnd / onError / onUpgrade ends it, unless the caller aborts it first.
   */
  dispatch(
    target: PoolTarget,
    head: DispatchHead,
    body: RequestBodySource | null,
    handler: DispatchHandler,
    fresh = false,
  ): DispatchController {
    const d = new DispatchController(this, target, head, body, handler);
    const endpoint = this.endpointOf(target);
    if (!fresh) {
      const conn = endpoint.idle.pop();
      if (conn !== undefined) {
        d.reused = true;
        conn.send(d);
        return d;
      }
    }
    endpoint.open++;
    if (endpoint.open === 1) this.endpoints.set(endpoint.key, endpoint);
    const conn = new UpstreamConnection(this, endpoint, this.connect(target));
    conn.dispatch = d;
    d.conn = conn;
    return d;
  }

  /** Idle connections to `target` (for tests and metrics). */
  idleCount(target: PoolTarget): number {
    return this.endpointOf(target).idle.length;
  }

  /** Closes idle connections; later requests still work, but their connections are not pooled. */
  close(): void {
    this.closing = true;
    for (const endpoint of this.endpoints.values()) {
      for (const conn of endpoint.idle.splice(0)) conn.destroy();
    }
  }

  /** @internal */
  release(conn: UpstreamConnection): void {
    const idle = conn.endpoint.idle;
    if (idle.length >= this.maxIdlePerEndpoint) {
      conn.destroy();
      return;
    }
    conn.idle();
    idle.push(conn);
  }

  /**
   * @internal An endpoint without connections leaves the table, so pod addresses that come and go do
   * not pile up (a target object still mapped to it brings it back with its next connection).
   */
  connectionClosed(endpoint: Endpoint): void {
    endpoint.open--;
    if (endpoint.open === 0 && this.endpoints.get(endpoint.key) === endpoint)
      this.endpoints.delete(endpoint.key);
  }

  /** Endpoints with open connections (for tests). */
  get endpointCount(): number {
    return this.endpoints.size;
  }

  private endpointOf(target: PoolTarget): Endpoint {
    let endpoint = this.byTarget.get(target);
    if (endpoint !== undefined) return endpoint;
    const key = `${target.address}:${target.port}`;
    endpoint = this.endpoints.get(key);
    if (endpoint === undefined) endpoint = new Endpoint(key);
    this.byTarget.set(target, endpoint);
    return endpoint;
  }
}

function defaultConnect(target: PoolTarget): net.Socket {
  return net.connect({ host: target.address, port: target.port });
}
