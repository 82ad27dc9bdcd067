// Serves HTTP/1.x on one client socket (net or tls), parsed by Node's own llhttp in strict mode
// (parser.ts). Replaces what node:http did for the gateway: requests in order, pipelined responses
// in order, keep-alive and its limits, headers timeout (slowloris), Expect: 100-continue, HEAD/204/304
// framing, chunked bodies both ways with trailers, backpressure both ways, WebSocket upgrades.
//
// The handler gets one `Exchange` per request and answers through it; it never sees the socket
// (except for an accepted upgrade). Hop-by-hop headers are the caller's business: `writeHead` takes
// end-to-end headers only and adds the framing (`Content-Length` or `Transfer-Encoding: chunked`) and
// `Connection` itself.

import type { Socket } from 'node:net';
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
import { holdWrites, releaseWrites } from './write-batch.js';

export interface ServerConnectionOptions {
  /** Request line plus header fields, in bytes (431 past it). Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Header fields in one request head (431 past it, and the connection closes). Default 2000, the
   * number node:http's `maxHeadersCount` allows; node:http drops the fields past it, which a proxy must
   * not: the backend would see a request the client did not send.
   */
  maxHeaderFields?: number;
  /** A request head must arrive whole within this many ms of its first byte (else 408). Default 60 s. */
  headersTimeoutMs?: number;
  /**
   * Longest wait for the next request body byte while the handler reads the body (nginx
   * client_body_timeout): the exchange is aborted with `timeout`, 408 if nothing was answered yet.
   * Default 60 s.
   */
  bodyTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this many ms. Default 75 s (nginx). */
  keepAliveTimeoutMs?: number;
  /** The connection closes after this many requests (nginx keepalive_requests). Default 1000. */
  maxRequestsPerConnection?: number;
  /** Pipelined requests handed to the handler at once; later ones wait. Default 16. */
  maxPipelineDepth?: number;
  /** Response bytes buffered for a pipelined exchange before its `write` returns false. Default 64 KiB. */
  pipelineBufferBytes?: number;
  clock?: ConnectionClock;
  /** The whole response (head and body, with `Connection: close`) the connection sends for 400/408/431. */
  errorResponse?: (status: number) => string;
  /**
   * Whether a body that stalls past `bodyTimeoutMs` before anything was answered gets a 408 (default
   * true). False closes the connection without a word, as nginx's client_body_timeout does.
   */
  answerBodyTimeout?: boolean;
}

/** Why an exchange was abandoned before its response ended. */
/**
 * Why an exchange was abandoned before its response ended. `cut-short`: the client half-closed in the
 * middle of the body, which can then never complete; the connection answered 400 (still readable by a
 * client that only half-closed) and closes.
 */
export type AbortReason = 'client' | 'malformed' | 'timeout' | 'cut-short';

/** The handler's per-exchange listener: a plain object, set with `exchange.listen`. */
export interface ExchangeListener {
  /** A request body chunk (after `readBody`, while not paused). */
  onBodyData?(exchange: Exchange, chunk: Buffer): void;
  /** The request body ended (trailers flat, empty if none). Also called for bodiless requests. */
  onBodyEnd?(exchange: Exchange, trailers: string[]): void;
  /** The response may be written again after `write` returned false. */
  onDrain?(exchange: Exchange): void;
  /** The client went away, its body turned out malformed, or it stalled: stop (nothing more is sent). */
  onAbort?(exchange: Exchange, reason: AbortReason): void;
}

/** Receives an accepted upgrade: the raw socket and the bytes read past the request head. */
export interface UpgradeTarget {
  onUpgradeSocket(exchange: Exchange, socket: Socket, head: Buffer): void;
}

export interface ServerConnectionHandler {
  /** A request head arrived (in order; at most `maxPipelineDepth` unanswered at once). */
  onRequest(exchange: Exchange): void;
  /**
   * The connection answered a malformed or timed-out request itself (400, 408, 431). `exchange`: the
   * request's exchange, or null when no head was parsed (garbage, a head that never arrived). One the
   * handler had got was told with `onAbort`; one it never got (the head or the body in the head's
   * packet was bad) has no listener.
   */
  onClientError?(connection: ServerConnection, status: number, code: string, exchange: Exchange | null): void;
  /** The socket closed. */
  onClose?(connection: ServerConnection): void;
}

const STATUS_TEXT: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Unknown';
}

function defaultErrorResponse(status: number): string {
  const body = `${status} ${statusText(status)}\n`;
  return (
    `HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
  );
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Body chunks up to this size go out in one string write with the head and framing. */
const SMALL_CHUNK = 4096;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
const EMPTY = Buffer.alloc(0);

enum Framing {
  None = 0,
  Length = 1,
  Chunked = 2,
  Close = 3,
}

enum Deadline {
  None = 0,
  Idle = 1,
  Head = 2,
  Body = 3,
}

/** One request and its response. */
export class Exchange {
  // Request, as parsed.
  method = '';
  url = '';
  versionMajor = 1;
  versionMinor = 1;
  /** Flat [name, value, …], names as sent. */
  rawHeaders: string[] = [];
  shouldKeepAlive = true;
  upgrade = false;
  expectContinue = false;
  /** The request has a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody = false;
  /** The request message (its body included) was parsed completely. */
  requestComplete = false;
  trailers: string[] = [];
  /** Response bytes handed to the socket or buffered for it. */
  bytesWritten = 0;
  /** Status given to `writeHead`, 0 before. */
  status = 0;
  listener: ExchangeListener | null = null;

  /** This request's number on the connection, from 1. */
  seq = 0;
  /** @internal */ corks = 0;
  /** @internal */ started = false;
  /** @internal */ finished = false;
  /** @internal */ aborted = false;
  /** @internal */ reading = false;
  /** @internal */ bodyPaused = false;
  /** @internal */ discard = false;
  /** @internal */ continueSent = false;
  /** @internal */ bodyQueue: Buffer[] | null = null;
  /** @internal */ endDelivered = false;
  /** @internal */ out: (string | Buffer)[] | null = null;
  /** @internal */ outBytes = 0;
  /** @internal */ wantsDrain = false;
  /** @internal */ upgradeHead: Buffer = EMPTY;
  /** @internal */ upgradeTarget: UpgradeTarget | null = null;
  /** Set before `writeHead` to end the connection after this response (a 400, a refused upgrade). */
  closeAfter = false;
  private framing = Framing.None;
  private pendingHead = '';
  private headWritten = false;
  private noBody = false;

  constructor(readonly connection: ServerConnection) {}

  get httpVersion(): string {
    return this.versionMajor === 1 && this.versionMinor === 1
      ? '1.1'
      : `${this.versionMajor}.${this.versionMinor}`;
  }

  get headersSent(): boolean {
    return this.headWritten;
  }

  /** Sets the listener for body, drain and abort events. */
  listen(listener: ExchangeListener): void {
    this.listener = listener;
  }

  /**
   * Starts delivering the request body to the listener (answers `100 Continue` first when the client
   * asked for it). Until then no body byte is passed on and the socket is not read past one chunk.
   */
  readBody(): void {
    if (this.reading || this.aborted) return;
    this.reading = true;
    if (this.expectContinue && !this.continueSent && !this.requestComplete && this.status === 0) {
      this.continueSent = true;
      this.connection.writeContinue(this);
    }
    this.connection.flushBody(this);
    this.connection.bodyWait(this);
  }

  /** Stops passing body chunks on (and reading the socket) until `resumeBody`. */
  pauseBody(): void {
    this.bodyPaused = true;
    this.connection.bodyWait(this);
  }

  resumeBody(): void {
    if (!this.bodyPaused) return;
    this.bodyPaused = false;
    this.connection.flushBody(this);
    this.connection.bodyWait(this);
  }

  /**
   * Starts the response. `headers`: end-to-end fields, flat [name, value, …] or a preformatted block
   * (`Name: value\r\n…`). `bodyLength` ≥ 0 is sent as Content-Length; -1 frames the body chunked
   * (HTTP/1.1) or by closing the connection (HTTP/1.0). Responses to HEAD, and 1xx/204/304, carry no
   * body whatever is written (HEAD and 304 keep the Content-Length given). The head leaves with the
   * first body bytes (one writev), on `end`, or on `flushHead`.
   */
  writeHead(status: number, headers: readonly string[] | string, bodyLength = -1, reason?: string): void {
    if (this.status !== 0 || this.aborted) return;
    this.status = status;
    const conn = this.connection;
    let head = `HTTP/1.1 ${status} ${reason ?? statusText(status)}\r\n`;
    if (typeof headers === 'string') head += headers;
    else {
      for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    this.noBody = this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (this.noBody) {
      this.framing = Framing.None;
      if (bodyLength >= 0 && status !== 204 && status >= 200) head += `Content-Length: ${bodyLength}\r\n`;
    } else if (bodyLength >= 0) {
      this.framing = Framing.Length;
      head += `Content-Length: ${bodyLength}\r\n`;
    } else if (this.versionMajor === 1 && this.versionMinor >= 1) {
      this.framing = Framing.Chunked;
      head += 'Transfer-Encoding: chunked\r\n';
    } else {
      this.framing = Framing.Close;
      this.closeAfter = true;
    }
    if (!this.requestComplete && this.expectContinue && !this.continueSent) this.closeAfter = true;
    if (conn.willCloseAfter(this)) {
      this.closeAfter = true;
      head += 'Connection: close\r\n';
    } else if (this.versionMinor === 0) {
      head += 'Connection: keep-alive\r\n';
    }
    this.pendingHead = `${head}\r\n`;
  }

  /** Sends the response head now (a body that may take long to start, such as event streams). */
  flushHead(): void {
    if (this.pendingHead === '' || this.headWritten) return;
    this.headWritten = true;
    this.connection.output(this, this.pendingHead);
    this.pendingHead = '';
  }

  /** Writes body bytes (a string is sent as latin1). False: buffered beyond the limit; wait for the listener's `onDrain`. */
  write(chunk: Buffer | string): boolean {
    if (this.aborted || this.finished || this.status === 0) return false;
    const conn = this.connection;
    if (this.noBody || chunk.length === 0) {
      if (!this.headWritten) this.flushHead();
      return conn.writable(this);
    }
    if (chunk.length <= SMALL_CHUNK) {
      // One latin1 string, one write: a small body costs no writev and no cork (byte values survive
      // latin1 both ways).
      let piece = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      if (this.framing === Framing.Chunked) piece = `${chunk.length.toString(16)}\r\n${piece}\r\n`;
      if (!this.headWritten) {
        this.headWritten = true;
        piece = this.pendingHead + piece;
        this.pendingHead = '';
      }
      conn.output(this, piece);
      return conn.writable(this);
    }
    conn.cork(this);
    if (!this.headWritten) this.flushHead();
    if (this.framing === Framing.Chunked) {
      const size = chunk.length;
      conn.output(this, `${size.toString(16)}\r\n`);
      conn.output(this, chunk);
      conn.output(this, CRLF);
    } else {
      conn.output(this, chunk);
    }
    conn.uncork(this);
    return conn.writable(this);
  }

  /** Ends the response; `trailers` (flat) are sent when the body is chunked. */
  end(trailers?: readonly string[] | null): void {
    if (this.aborted || this.finished) return;
    if (this.status === 0) this.writeHead(200, EMPTY_HEADERS, 0);
    const conn = this.connection;
    conn.cork(this);
    if (!this.headWritten) this.flushHead();
    if (this.framing === Framing.Chunked) {
      if (trailers && trailers.length > 0) {
        let t = '0\r\n';
        for (let i = 0; i + 1 < trailers.length; i += 2) t += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
        conn.output(this, `${t}\r\n`);
      } else conn.output(this, LAST_CHUNK);
    }
    conn.uncork(this);
    this.finished = true;
    conn.exchangeFinished(this);
  }

  /** Holds writes back until `uncork` (pair them), so a head and several chunks leave in one writev. */
  cork(): void {
    this.connection.cork(this);
  }

  uncork(): void {
    this.connection.uncork(this);
  }

  /** Gives up on the response: the client connection is destroyed (a response cut off mid-body). */
  destroy(): void {
    this.connection.destroy();
  }

  /**
   * Takes the socket over for an upgrade request (`upgrade` true): once every earlier response has
   * ended, the connection detaches from the socket and calls `target.onUpgradeSocket` with the bytes
   * read past the head. Answer the upgrade (101) on the socket yourself. Not calling this and writing a
   * response instead keeps the connection HTTP.
   */
  acceptUpgrade(target: UpgradeTarget): void {
    if (!this.upgrade || this.aborted) return;
    this.upgradeTarget = target;
    this.connection.maybeHandOver();
  }

  /** @internal */
  shouldBuffer(): boolean {
    return !this.reading || this.bodyPaused;
  }
}

const EMPTY_HEADERS: readonly string[] = [];

/** One client connection. Create it with the accepted socket; it starts reading at once. */
export class ServerConnection implements ParserHandler, DeadlineOwner {
  deadline = 0;
  /** Requests parsed so far. */
  requests = 0;
  private readonly parser: Http1Parser;
  private readonly queue: Exchange[] = [];
  private current: Exchange | null = null;
  private readonly maxRequests: number;
  private readonly maxDepth: number;
  private readonly bufferLimit: number;
  private readonly headersTimeoutMs: number;
  private readonly keepAliveTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly clock: ConnectionClock;
  private readonly errorResponse: (status: number) => string;
  private readonly answerBodyTimeout: boolean;
  private deadlineKind = Deadline.Head;
  private ignoreRest = false;
  private readonly maxHeaderFields: number;
  /** A head with more fields than allowed, parsed in the running `execute()`: answered after it. */
  private overFields: Exchange | null = null;
  private readPaused = false;
  private closed = false;
  private clientEnded = false;
  private handedOver = false;
  private ending = false;
  private upgradeWait: Exchange | null = null;
  private pendingInput: Buffer = EMPTY;
  private receivedAny = false;
  private executing = false;
  private lastUpgrade: Exchange | null = null;
  private advancing = false;
  /** The parser reads the socket's handle itself: reads reach `onExecute`, not 'data'. */
  private readonly consumed: boolean;
  private readonly onDataBound = (chunk: Buffer) => this.onData(chunk);
  private readonly onDrainBound = () => this.onSocketDrain();
  private readonly onEndBound = () => this.onSocketEnd();
  private readonly onCloseBound = () => this.onSocketClose();
  private readonly onErrorBound = () => this.destroy();

  constructor(
    readonly socket: Socket,
    private readonly handler: ServerConnectionHandler,
    options: ServerConnectionOptions = {},
  ) {
    this.maxRequests = options.maxRequestsPerConnection ?? 1000;
    this.maxHeaderFields = options.maxHeaderFields ?? DEFAULT_MAX_HEADER_FIELDS;
    this.maxDepth = Math.max(1, options.maxPipelineDepth ?? 16);
    this.bufferLimit = options.pipelineBufferBytes ?? 64 * 1024;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 75_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 60_000;
    this.clock = options.clock ?? defaultClock;
    this.errorResponse = options.errorResponse ?? defaultErrorResponse;
    this.answerBodyTimeout = options.answerBodyTimeout ?? true;
    this.parser = Http1Parser.acquire('request', this, options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE);
    socket.setNoDelay(true);
    socket.on('data', this.onDataBound);
    socket.on('drain', this.onDrainBound);
    socket.on('end', this.onEndBound);
    socket.on('close', this.onCloseBound);
    socket.on('error', this.onErrorBound);
    // 'data' stays for what the socket's stream holds already (or a socket the parser cannot read).
    this.consumed = this.parser.consume(socket);
    this.deadline = this.clock.now() + this.headersTimeoutMs;
    this.clock.add(this);
  }

  /** Exchanges not yet answered completely. */
  get inFlight(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the connection once the responses in flight have ended (graceful shutdown). */
  closeWhenIdle(): void {
    this.ignoreRest = true;
    if (this.queue.length === 0) this.endSocket();
  }

  destroy(): void {
    if (this.closed) return;
    releaseWrites(this.socket);
    this.socket.destroy();
    this.onSocketClose();
  }

  // ---- parser events -------------------------------------------------------------------------

  onMessageBegin(): void {
    // A consumed read is being parsed (see `executing`).
    this.executing = true;
    if (this.ignoreRest) return;
    this.deadlineKind = Deadline.Head;
    this.deadline = this.clock.now() + this.headersTimeoutMs;
  }

  onHeadersComplete(
    versionMajor: number,
    versionMinor: number,
    rawHeaders: string[],
    method: string,
    url: string,
    _statusCode: number,
    _statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number {
    this.executing = true;
    if (this.ignoreRest) {
      this.current = null;
      return 0;
    }
    const ex = new Exchange(this);
    ex.method = method;
    ex.url = url;
    ex.versionMajor = versionMajor;
    ex.versionMinor = versionMinor;
    ex.rawHeaders = rawHeaders;
    ex.shouldKeepAlive = shouldKeepAlive;
    ex.upgrade = upgrade;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const n = name.length;
      if (n === 6) {
        if (name.toLowerCase() === 'expect' && rawHeaders[i + 1]!.toLowerCase() === '100-continue') {
          ex.expectContinue = versionMinor >= 1;
        }
      } else if (n === 14) {
        if (name.toLowerCase() === 'content-length' && rawHeaders[i + 1] !== '0') ex.hasBody = true;
      } else if (n === 17) {
        if (name.toLowerCase() === 'transfer-encoding') ex.hasBody = true;
      }
    }
    this.requests++;
    ex.seq = this.requests;
    this.deadlineKind = Deadline.None;
    this.deadline = 0;
    this.queue.push(ex);
    if (rawHeaders.length > 2 * this.maxHeaderFields) {
      // Answered 431 in its place once execute() returns, as a head over the size limit is, and never
      // handed to the handler; 2 makes llhttp stop at this head (as after an upgrade), so neither its
      // body nor anything pipelined behind it is parsed.
      ex.requestComplete = true;
      ex.started = true;
      this.ignoreRest = true;
      this.current = null;
      this.overFields = ex;
      return 2;
    }
    if (!shouldKeepAlive || this.requests >= this.maxRequests) this.ignoreRest = true;
    this.current = ex;
    if (upgrade) this.lastUpgrade = ex;
    // The handler gets it once execute() returns: llhttp may still reject this head (for example an
    // invalid Transfer-Encoding is found after kOnHeadersComplete), and then nobody sees it.
    return 0;
  }

  onBody(chunk: Buffer): void {
    this.executing = true;
    const ex = this.current;
    if (ex === null || ex.discard || ex.aborted) return;
    if (ex.shouldBuffer() || ex.bodyQueue !== null) {
      if (ex.bodyQueue === null) ex.bodyQueue = [chunk];
      else ex.bodyQueue.push(chunk);
      return;
    }
    if (this.deadlineKind === Deadline.Body) this.deadline = this.clock.now() + this.bodyTimeoutMs;
    ex.listener?.onBodyData?.(ex, chunk);
  }

  onMessageComplete(trailers: string[]): void {
    this.executing = true;
    const ex = this.current;
    if (ex === null) return;
    this.current = null;
    if (this.deadlineKind === Deadline.Body) {
      this.deadlineKind = Deadline.None;
      this.deadline = 0;
    }
    ex.requestComplete = true;
    ex.trailers = trailers;
    if (!ex.aborted && !ex.discard && ex.reading && !ex.bodyPaused && ex.bodyQueue === null) {
      ex.endDelivered = true;
      ex.listener?.onBodyEnd?.(ex, trailers);
    }
    if (ex.finished) this.afterResponse(ex);
  }

  // ---- socket events ---------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed || this.handedOver) return;
    this.receivedAny = true;
    if (this.upgradeWait !== null || this.readPaused) {
      this.pendingInput = this.pendingInput.length === 0 ? chunk : Buffer.concat([this.pendingInput, chunk]);
      return;
    }
    this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    if (this.ignoreRest && this.current === null) return;
    this.executing = true;
    this.parsed(this.parser.execute(chunk), chunk);
  }

  /** A read the parser consumed, parsed already (its callbacks have run). */
  onExecute(ret: number | ParseError): void {
    if (this.closed || this.handedOver) return;
    this.receivedAny = true;
    // Bad bytes past the last request this connection serves are no error: `parse` would not even have
    // parsed them.
    this.parsed(typeof ret !== 'number' && this.ignoreRest && this.current === null ? 0 : ret, null);
  }

  /** After one `execute()`; `chunk`: its bytes when they came as a 'data' event. */
  private parsed(ret: number | ParseError, chunk: Buffer | null): void {
    this.executing = false;
    const over = this.overFields;
    this.overFields = null;
    const up = this.lastUpgrade;
    this.lastUpgrade = null;
    if (typeof ret !== 'number') {
      // Bytes after a `Connection: close` request are ignored (RFC 9112 §9.6), not an error.
      if (!this.ignoreRest || ret.code !== 'HPE_CLOSED_CONNECTION') this.parseError(ret.code);
    } else if (over !== null) {
      this.pauseReading();
      this.answerError(over, 431, 'HPE_HEADER_FIELDS_COUNT', over);
    } else if (up !== null) {
      // llhttp stops at the end of an upgrade request: what follows (maybe nothing yet) is the
      // other protocol's, unless the handler answers the request as plain HTTP.
      up.upgradeHead = (chunk ?? this.parser.currentBuffer()).subarray(ret);
      this.upgradeWait = up;
      this.pauseReading();
    }
    this.pump();
    if (this.blocked()) this.pauseReading();
    else if (this.readPaused) this.resumeReading();
  }

  private blocked(): boolean {
    if (this.upgradeWait !== null || this.queue.length > this.maxDepth) return true;
    const cur = this.current;
    return cur !== null && !cur.discard && !cur.aborted && (cur.shouldBuffer() || cur.bodyQueue !== null);
  }

  private parseError(code: string): void {
    const ex = this.current;
    this.current = null;
    this.ignoreRest = true;
    this.pauseReading();
    if (ex?.started) {
      // The body turned out malformed: the handler abandons its upstream request and answers.
      ex.closeAfter = true;
      ex.requestComplete = true;
      if (ex.finished) {
        // Its response had ended already; the rest of its body was being discarded.
        this.afterResponse(ex);
        return;
      }
      if (ex.status === 0) this.answerAborted(ex, 400, code, 'malformed');
      else {
        this.abortExchange(ex, 'malformed');
        this.destroy();
      }
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (ex !== null) {
      // Parsed, but found bad before the handler got it (the body in the head's packet): answered in
      // its place in the pipeline, reported with its head.
      ex.requestComplete = true;
      ex.started = true;
      this.answerError(ex, status, code, ex);
      return;
    }
    this.queueError(status, code);
  }

  private queueError(status: number, code: string): void {
    const ex = new Exchange(this);
    ex.requestComplete = true;
    ex.started = true;
    ex.closeAfter = true;
    this.queue.push(ex);
    this.answerError(ex, status, code, null);
  }

  /**
   * Answers an exchange the handler has with the connection's own error response, then tells its
   * listener (which sees the status and the bytes written) why it was abandoned.
   */
  private answerAborted(ex: Exchange, status: number, code: string, reason: AbortReason): void {
    this.handler.onClientError?.(this, status, code, ex);
    ex.status = status;
    ex.closeAfter = true;
    this.output(ex, this.errorResponse(status));
    this.abortExchange(ex, reason);
    ex.finished = true;
    this.exchangeFinished(ex);
  }

  private answerError(ex: Exchange, status: number, code: string, reported: Exchange | null): void {
    this.handler.onClientError?.(this, status, code, reported);
    ex.status = status;
    ex.closeAfter = true;
    this.output(ex, this.errorResponse(status));
    ex.finished = true;
    this.exchangeFinished(ex);
  }

  private onSocketDrain(): void {
    const head = this.queue[0];
    if (head?.wantsDrain) {
      head.wantsDrain = false;
      head.listener?.onDrain?.(head);
    }
  }

  private onSocketEnd(): void {
    this.clientEnded = true;
    if (this.handedOver) return;
    this.ignoreRest = true;
    const cur = this.current;
    if (cur?.started && cur.status === 0 && this.queue.length === 1 && !cur.aborted) {
      // The body was cut short: it can never complete. As node:http does, 400 for a client that only
      // half-closed, then close; the request counts as abandoned by its client.
      this.current = null;
      cur.requestComplete = true;
      this.answerAborted(cur, 400, 'HPE_INVALID_EOF_STATE', 'cut-short');
      return;
    }
    // As nginx does (a 499): a client that closes its side while responses are due has gone away;
    // a half-close cannot be told apart from a close without writing. Everything in flight is aborted.
    if (this.queue.length === 0) this.endSocket();
    else this.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = 0;
    this.clock.delete(this);
    if (!this.handedOver) {
      this.parser.release();
      for (const ex of this.queue) if (!ex.finished) this.abortExchange(ex, 'client');
      this.queue.length = 0;
    }
    this.handler.onClose?.(this);
  }

  onDeadline(): void {
    const kind = this.deadlineKind;
    this.deadline = 0;
    if (this.closed || this.handedOver) return;
    if (kind === Deadline.Idle) {
      if (this.ending) this.destroy();
      else this.endSocket();
    } else if (kind === Deadline.Body) {
      const ex = this.current;
      if (ex === null || ex.requestComplete) return;
      this.current = null;
      this.ignoreRest = true;
      this.pauseReading();
      ex.closeAfter = true;
      ex.requestComplete = true;
      if (ex.finished) this.afterResponse(ex);
      else if (ex.status === 0 && this.answerBodyTimeout)
        this.answerAborted(ex, 408, 'BODY_TIMEOUT', 'timeout');
      else {
        this.abortExchange(ex, 'timeout');
        this.handler.onClientError?.(this, 408, 'BODY_TIMEOUT', ex);
        this.destroy();
      }
    } else if (kind === Deadline.Head) {
      if (this.readPaused && this.queue.length > 0) {
        this.deadline = this.clock.now() + this.headersTimeoutMs;
        return;
      }
      if (!this.receivedAny) {
        this.destroy();
        return;
      }
      this.ignoreRest = true;
      this.current = null;
      this.pauseReading();
      this.queueError(408, 'HEADERS_TIMEOUT');
    }
  }

  // ---- exchange support (internal) -----------------------------------------------------------

  private start(ex: Exchange): void {
    ex.started = true;
    this.handler.onRequest(ex);
  }

  /** @internal Arms the body timeout while `ex` waits for client bytes, disarms it otherwise. */
  bodyWait(ex: Exchange): void {
    if (this.current !== ex || ex.requestComplete || this.closed || this.ending) return;
    if (ex.reading && !ex.bodyPaused && !ex.aborted) {
      this.deadlineKind = Deadline.Body;
      this.deadline = this.clock.now() + this.bodyTimeoutMs;
    } else if (this.deadlineKind === Deadline.Body) {
      this.deadline = 0;
    }
  }

  /** @internal */
  willCloseAfter(ex: Exchange): boolean {
    if (ex.closeAfter || !ex.shouldKeepAlive || ex.seq >= this.maxRequests) return true;
    const last = this.queue[this.queue.length - 1] === ex && this.current === null;
    return last && (this.ignoreRest || this.clientEnded);
  }

  /** @internal */
  writeContinue(ex: Exchange): void {
    if (this.queue[0] === ex) this.socket.write(CONTINUE, 'latin1');
    else this.output(ex, CONTINUE);
  }

  /** @internal */
  cork(ex: Exchange): void {
    if (this.queue[0] === ex && !this.closed) {
      ex.corks++;
      this.socket.cork();
    }
  }

  /** @internal */
  uncork(ex: Exchange): void {
    if (ex.corks > 0) {
      ex.corks--;
      this.socket.uncork();
    }
  }

  /** @internal */
  output(ex: Exchange, data: string | Buffer): void {
    ex.bytesWritten += data.length;
    if (this.closed) return;
    if (this.queue[0] === ex) {
      if (!this.socket.writable) return;
      holdWrites(this.socket);
      if (!this.socket.write(data, 'latin1')) ex.wantsDrain = true;
    } else {
      if (ex.out === null) ex.out = [data];
      else ex.out.push(data);
      ex.outBytes += data.length;
    }
  }

  /** @internal */
  writable(ex: Exchange): boolean {
    if (this.queue[0] === ex) return !ex.wantsDrain;
    if (ex.outBytes > this.bufferLimit) {
      ex.wantsDrain = true;
      return false;
    }
    return true;
  }

  /** @internal Delivers queued body chunks, and the end, to a reading exchange. */
  flushBody(ex: Exchange): void {
    if (ex.aborted || !ex.reading) return;
    const queue = ex.bodyQueue;
    if (queue !== null) {
      while (queue.length > 0 && !ex.bodyPaused) {
        const chunk = queue.shift()!;
        ex.listener?.onBodyData?.(ex, chunk);
      }
      if (queue.length > 0) return;
      ex.bodyQueue = null;
    }
    if (ex.bodyPaused) return;
    if (ex.requestComplete) {
      if (!ex.endDelivered) {
        ex.endDelivered = true;
        ex.listener?.onBodyEnd?.(ex, ex.trailers);
      }
      return;
    }
    this.resumeReading();
  }

  /** @internal */
  exchangeFinished(ex: Exchange): void {
    if (!ex.requestComplete) {
      // The response ended before the request body: read the rest and drop it (or close, when the
      // client still waits for 100 Continue).
      if (ex.closeAfter) {
        this.ignoreRest = true;
        ex.requestComplete = true;
        if (this.current === ex) this.current = null;
      } else {
        ex.discard = true;
        ex.bodyQueue = null;
        if (this.current === ex) {
          this.deadlineKind = Deadline.Body;
          this.deadline = this.clock.now() + this.bodyTimeoutMs;
        }
        this.resumeReading();
        return;
      }
    }
    this.afterResponse(ex);
  }

  private afterResponse(ex: Exchange): void {
    if (this.queue[0] !== ex) return;
    this.pump();
  }

  /**
   * Moves the pipeline on: the head exchange's buffered output goes out, exchanges within the depth
   * are handed to the handler, finished ones leave the queue. Re-entrant calls return at once (the
   * running loop sees their effect).
   */
  private pump(): void {
    if (this.advancing) return;
    this.advancing = true;
    const queue = this.queue;
    try {
      while (queue.length > 0 && !this.closed) {
        const head = queue[0]!;
        const out = head.out;
        if (out !== null) {
          head.out = null;
          head.outBytes = 0;
          const socket = this.socket;
          socket.cork();
          let ok = true;
          for (const piece of out) ok = socket.write(piece, 'latin1');
          socket.uncork();
          const waited = head.wantsDrain;
          head.wantsDrain = !ok;
          if (waited && ok) head.listener?.onDrain?.(head);
        }
        for (let i = 0; i < queue.length && i < this.maxDepth; i++) {
          const ex = queue[i]!;
          if (!ex.started && !(this.executing && ex === this.current)) this.start(ex);
        }
        if (queue[0] !== head) continue;
        if (!(head.finished && head.requestComplete)) break;
        queue.shift();
        if (head.closeAfter) {
          this.ignoreRest = true;
          this.endSocket();
          return;
        }
      }
    } finally {
      this.advancing = false;
    }
    if (this.closed) return;
    if (queue.length === 0 && this.current === null) {
      if (this.ignoreRest) {
        this.endSocket();
        return;
      }
      if (this.deadlineKind !== Deadline.Head) {
        this.deadlineKind = Deadline.Idle;
        this.deadline = this.clock.now() + this.keepAliveTimeoutMs;
      }
    }
    if (this.upgradeWait !== null) this.maybeHandOver();
    else if (!this.executing) this.resumeReading();
  }

  /** @internal Hands an accepted upgrade over, or resumes HTTP after an upgrade answered normally. */
  maybeHandOver(): void {
    const ex = this.upgradeWait;
    if (ex === null || this.closed) return;
    if (ex.finished) {
      // Answered as plain HTTP: parse what followed the head as HTTP again.
      this.upgradeWait = null;
      const rest = ex.upgradeHead;
      ex.upgradeHead = EMPTY;
      if (rest.length > 0) this.pendingInput = Buffer.concat([rest, this.pendingInput]);
      this.resumeReading();
      return;
    }
    const target = ex.upgradeTarget;
    if (target === null || this.queue[0] !== ex) return;
    this.handedOver = true;
    this.upgradeWait = null;
    const socket = this.socket;
    socket.removeListener('data', this.onDataBound);
    socket.removeListener('drain', this.onDrainBound);
    socket.removeListener('end', this.onEndBound);
    socket.removeListener('close', this.onCloseBound);
    socket.removeListener('error', this.onErrorBound);
    this.deadline = 0;
    this.clock.delete(this);
    this.parser.release();
    // The socket's own reads again. Its stream still thinks a read is under way (nothing was pushed
    // while the parser read), so its resume() would not start the handle: start it here, paused.
    if (this.consumed) startHandleReading(socket);
    this.queue.length = 0;
    ex.finished = true;
    this.closed = true;
    const head =
      this.pendingInput.length > 0 ? Buffer.concat([ex.upgradeHead, this.pendingInput]) : ex.upgradeHead;
    this.pendingInput = EMPTY;
    target.onUpgradeSocket(ex, socket, head);
  }

  private abortExchange(ex: Exchange, reason: AbortReason): void {
    if (ex.aborted || ex.finished) return;
    ex.aborted = true;
    ex.bodyQueue = null;
    ex.listener?.onAbort?.(ex, reason);
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
    if (this.consumed) stopHandleReading(this.socket);
  }

  private resumeReading(): void {
    if (this.closed || this.handedOver || this.executing || this.blocked()) return;
    if (this.pendingInput.length > 0) {
      const input = this.pendingInput;
      this.pendingInput = EMPTY;
      this.parse(input);
      return;
    }
    if (!this.readPaused) return;
    this.readPaused = false;
    this.socket.resume();
    if (this.consumed) startHandleReading(this.socket);
  }

  private endSocket(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.ignoreRest = true;
    // A client that does not read the last response must not hold the socket for ever.
    this.deadlineKind = Deadline.Idle;
    this.deadline = this.clock.now() + this.keepAliveTimeoutMs;
    this.socket.end();
    // A client that never closes its side must not hold the socket: destroy once our side is flushed.
    this.socket.once('finish', this.onErrorBound);
  }
}
