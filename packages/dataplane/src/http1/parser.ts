// A typed wrapper over Node's own llhttp binding: the `HTTPParser` that node:http drives
// (`require('node:_http_common').HTTPParser`, a private API pinned by parser.pin.test.ts). Always strict
// (no kLenient* flag), with a header-size limit (request line or status line plus header fields;
// exceeding it fails with HPE_HEADER_OVERFLOW). Parsers are reused through a free list, as node:http does.
//
// Facts about this binding (Node 24.21), checked by the pin test:
// - `initialize(type, asyncResource, maxHeaderSize, lenientFlags)`; `execute(buf)` returns the bytes
//   parsed or an Error with `code` ('HPE_…'), `reason`, `bytesParsed`; `finish()` returns undefined or
//   such an Error (HPE_INVALID_EOF_STATE for a body cut short); `free()` before reuse, `close()` to drop.
// - kOnHeadersComplete(versionMajor, versionMinor, headers|undefined, methodIndex|undefined,
//   url|undefined, statusCode|undefined, statusMessage|undefined, upgrade, shouldKeepAlive); its return
//   value 1 tells llhttp the message has no body (a response to HEAD).
// - kOnHeaders(headers, url) flushes header pairs early (more than 32 fields) and delivers trailers.
// - kOnBody(chunk) gets a copy of the body bytes (body-copies.ts: why they are counted).
//   kOnMessageComplete() has no arguments.
// - `pause()` called from inside a callback does NOT stop the running `execute()` in this version: a
//   caller cannot stop mid-buffer; it must queue what one `execute()` yields.
// - After a message with `Connection: close`, any further byte fails with HPE_CLOSED_CONNECTION.
// - An upgrade request without a body (or a 101 response) stops `execute()` at the end of its head: the
//   return value is then smaller than the buffer, and the rest belongs to the other protocol.
// - `consume(handle)` makes the parser the reader of a socket's stream handle (as node:http's server
//   does): reads land in one shared 64 KiB buffer and are parsed in C++, with no Buffer, no stream
//   machinery and no JavaScript call per read but kOnExecute(ret) after each one; end of stream and
//   errors still reach the socket ('end', 'error'). Pausing is then the handle's `readStop()`.

import type { Socket } from 'node:net';
import { noteBodyCopy } from './body-copies.js';

/** The shape of the private binding, as far as this module uses it. */
export interface NativeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): ParseError | undefined;
  free(): void;
  close(): void;
  /** Becomes the stream handle's reader: each read is parsed in C++, then kOnExecute(ret) is called. */
  consume(handle: object): void;
  unconsume(): void;
  /** A copy of the bytes of the read being handled (valid inside kOnExecute). */
  getCurrentBuffer(): Buffer;
  [slot: number]: unknown;
}

export interface NativeHttpParserClass {
  new (): NativeHttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}

/** What `execute()` / `finish()` return on malformed input. */
export interface ParseError extends Error {
  code: string;
  reason: string;
  bytesParsed: number;
}

// getBuiltinModule, not createRequire(import.meta.url): the single binary is a CommonJS bundle.
const common = process.getBuiltinModule('node:_http_common') as unknown as {
  HTTPParser: NativeHttpParserClass;
  methods: string[];
};
export const HTTPParser: NativeHttpParserClass = common.HTTPParser;

/**
 * Method names by the index kOnHeadersComplete passes. That index is llhttp's method enum, which has
 * RTSP methods among the HTTP ones (node:http maps it through the binding's `allMethods`, which
 * `_http_common` does not export; QUERY is 46 there, 34 in `methods`). Found by asking the parser itself
 * once: each HTTP method's request line parsed, its index noted.
 */
export const METHODS: readonly string[] = (() => {
  const byIndex: string[] = [];
  const probe = new HTTPParser();
  let seen = -1;
  probe[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, method: number) => {
    seen = method;
    return 0;
  };
  for (const name of common.methods) {
    probe.initialize(HTTPParser.REQUEST, {}, 0, 0);
    seen = -1;
    probe.execute(Buffer.from(`${name} / HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1'));
    if (seen >= 0) byIndex[seen] = name;
  }
  probe.close();
  return byIndex;
})();

export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/** Header fields a message head may have: node:http's `maxHeadersCount` (see ServerConnection). */
export const DEFAULT_MAX_HEADER_FIELDS = 2000;

export type ParserKind = 'request' | 'response';

/** Receives one parser's events. All arguments are what llhttp hands over; nothing is copied. */
export interface ParserHandler {
  /** A new message starts (its first byte arrived). */
  onMessageBegin(): void;
  /**
   * The head is complete. Requests: `method` and `url` set, `statusCode` 0. Responses: `statusCode` and
   * `statusMessage` set, `method` ''. `rawHeaders` is a flat [name, value, …] array, names as sent.
   * Return 1 to say the message has no body (a response to HEAD), else 0.
   */
  onHeadersComplete(
    versionMajor: number,
    versionMinor: number,
    rawHeaders: string[],
    method: string,
    url: string,
    statusCode: number,
    statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number;
  onBody(chunk: Buffer): void;
  /** `trailers` is a flat array, empty when none were sent. */
  onMessageComplete(trailers: string[]): void;
  /** After each read of a consumed socket: what `execute()` would have returned for it. */
  onExecute?(ret: number | ParseError): void;
}

/** The part of a socket's native handle (TCPWrap, TLSWrap) this module touches. */
export interface StreamHandle {
  isStreamBase?: boolean;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
  [kConsumed]?: boolean;
}

/** Marks a handle a parser reads (node:http marks its own with `_consumed`). */
const kConsumed = Symbol('consumed by a gateway parser');

const NO_TRAILERS: string[] = [];
const RESOURCE = Object.freeze({ type: 'gateway-http1' });

interface Slots extends NativeHttpParser {
  owner: Http1Parser | null;
  pendingHeaders: string[];
  pendingUrl: string;
}

function slotMessageBegin(this: Slots): void {
  this.owner?.handler?.onMessageBegin();
}

function slotHeaders(this: Slots, headers: string[], url: string): void {
  const pending = this.pendingHeaders;
  for (let i = 0; i < headers.length; i++) pending.push(headers[i]!);
  this.pendingUrl += url;
}

function slotHeadersComplete(
  this: Slots,
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined | null,
  method: number | undefined | null,
  url: string | undefined | null,
  statusCode: number | undefined | null,
  statusMessage: string | undefined | null,
  upgrade: boolean,
  shouldKeepAlive: boolean,
): number {
  if (headers == null) {
    headers = this.pendingHeaders;
    this.pendingHeaders = [];
  }
  if (url == null) {
    url = this.pendingUrl;
  }
  this.pendingUrl = '';
  const handler = this.owner?.handler;
  if (handler === undefined || handler === null) return 0;
  return handler.onHeadersComplete(
    versionMajor,
    versionMinor,
    headers,
    method == null ? '' : (METHODS[method] ?? ''),
    url,
    statusCode ?? 0,
    statusMessage ?? '',
    upgrade,
    shouldKeepAlive,
  );
}

function slotBody(this: Slots, chunk: Buffer): void {
  noteBodyCopy(chunk.length);
  this.owner?.handler?.onBody(chunk);
}

function slotMessageComplete(this: Slots): void {
  let trailers = NO_TRAILERS;
  if (this.pendingHeaders.length > 0) {
    trailers = this.pendingHeaders;
    this.pendingHeaders = [];
  }
  this.pendingUrl = '';
  this.owner?.handler?.onMessageComplete(trailers);
}

function slotExecute(this: Slots, ret: number | ParseError): void {
  this.owner?.handler?.onExecute?.(ret);
}

function newNative(): Slots {
  const native = new HTTPParser() as Slots;
  native.owner = null;
  native.pendingHeaders = [];
  native.pendingUrl = '';
  native[HTTPParser.kOnMessageBegin] = slotMessageBegin;
  native[HTTPParser.kOnHeaders] = slotHeaders;
  native[HTTPParser.kOnHeadersComplete] = slotHeadersComplete;
  native[HTTPParser.kOnBody] = slotBody;
  native[HTTPParser.kOnMessageComplete] = slotMessageComplete;
  native[HTTPParser.kOnExecute] = slotExecute;
  return native;
}

const FREE_LIST_MAX = 1000;
const freeList: Http1Parser[] = [];

/** One strict llhttp parser bound to a handler. Get one with `acquireParser`, give it back with `release`. */
export class Http1Parser {
  handler: ParserHandler | null = null;
  private readonly native: Slots;
  private live = false;
  private consumed: StreamHandle | null = null;

  private constructor() {
    this.native = newNative();
    this.native.owner = this;
  }

  static acquire(
    kind: ParserKind,
    handler: ParserHandler,
    maxHeaderSize = DEFAULT_MAX_HEADER_SIZE,
  ): Http1Parser {
    const parser = freeList.pop() ?? new Http1Parser();
    parser.handler = handler;
    parser.live = true;
    parser.native.pendingHeaders = [];
    parser.native.pendingUrl = '';
    parser.native.initialize(
      kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE,
      RESOURCE,
      maxHeaderSize,
      HTTPParser.kLenientNone,
    );
    return parser;
  }

  /** Parses `data`: the number of bytes consumed (fewer than given after an upgrade head), or the error. */
  execute(data: Buffer): number | ParseError {
    return this.native.execute(data);
  }

  /** Signals end of input: completes a close-delimited body, or reports a message cut short. */
  finish(): ParseError | undefined {
    return this.native.finish();
  }

  /**
   * Reads `socket` from now on (see `consume` above): true when it could (a socket on a native stream
   * handle, not read by another parser); else the caller feeds `execute()` from 'data' events.
   */
  consume(socket: Socket): boolean {
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (
      this.consumed !== null ||
      handle == null ||
      handle.isStreamBase !== true ||
      handle[kConsumed] === true
    )
      return false;
    handle[kConsumed] = true;
    this.consumed = handle;
    this.native.consume(handle);
    return true;
  }

  /** Gives the socket's reads back to its 'data' events (an upgrade's tunnel, a release). */
  unconsume(): void {
    const handle = this.consumed;
    if (handle === null) return;
    this.consumed = null;
    handle[kConsumed] = false;
    this.native.unconsume();
  }

  /** The bytes of the read being handled; only inside `onExecute`. */
  currentBuffer(): Buffer {
    return this.native.getCurrentBuffer();
  }

  /** Returns the parser to the free list; it must not be used afterwards. Idempotent. */
  release(): void {
    if (!this.live) return;
    // A parser still listening to a handle must not be handed to another socket.
    this.unconsume();
    this.live = false;
    this.handler = null;
    this.native.pendingHeaders = [];
    this.native.pendingUrl = '';
    this.native.free();
    if (freeList.length < FREE_LIST_MAX) freeList.push(this);
    else this.native.close();
  }
}

export function acquireParser(
  kind: ParserKind,
  handler: ParserHandler,
  maxHeaderSize = DEFAULT_MAX_HEADER_SIZE,
): Http1Parser {
  return Http1Parser.acquire(kind, handler, maxHeaderSize);
}

type Handled = { _handle?: StreamHandle | null };

/** Stops the reads of a consumed socket (the Readable's `pause()` does not reach its handle). */
export function stopHandleReading(socket: Socket): void {
  const handle = (socket as unknown as Handled)._handle;
  if (handle?.reading === true) {
    handle.reading = false;
    handle.readStop();
  }
}

/** Starts them again; `reading` is the flag net.Socket itself keeps, so the two never disagree. */
export function startHandleReading(socket: Socket): void {
  const handle = (socket as unknown as Handled)._handle;
  if (handle != null && handle.reading !== true) {
    handle.reading = true;
    handle.readStart();
  }
}

export function isParseError(value: unknown): value is ParseError {
  return typeof value === 'object' && value !== null && typeof (value as ParseError).code === 'string';
}

/** Parsers waiting in the free list (for tests). */
export function freeParserCount(): number {
  return freeList.length;
}
