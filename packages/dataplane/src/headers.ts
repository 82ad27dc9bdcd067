// Header rewriting in both directions: hop-by-hop headers removed (RFC 9110 §7.6.1), forwarded headers
// set, a Server header added to responses that have none.
import type { IncomingHttpHeaders } from 'node:http';
import { SERVER_NAME } from './gateway-responses.js';

/** Headers the gateway never forwards, whatever Connection says (it frames and keeps alive each side). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Lengths of the names above and of `server`: other names need no lowercasing (the usual case). */
const CHECKED_LENGTHS: readonly boolean[] = (() => {
  const lengths: boolean[] = [];
  for (const name of [...HOP_BY_HOP, 'server']) lengths[name.length] = true;
  return lengths;
})();

/**
 * Names a client may list in `Connection` that must survive anyway: removing them would change how the
 * request is framed or routed (`Connection: content-length` is a smuggling trick, not a hop-by-hop hint).
 */
const PROTECTED = new Set(['host', 'content-length']);

/** Removes the headers `Connection` names (`keep-alive`/`close`/`upgrade` need no work: listed anyway). */
function stripConnectionTokens(headers: IncomingHttpHeaders, connection: string): void {
  if (connection === 'keep-alive' || connection === 'close' || connection === 'Keep-Alive') return;
  for (const raw of connection.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name !== '' && !PROTECTED.has(name) && headers[name] !== undefined) delete headers[name];
  }
}

export interface ForwardedValues {
  readonly clientIp: string;
  readonly proto: string;
  readonly port: string;
  readonly host: string;
  readonly requestId: string;
}

/**
 * Rewrites an incoming request's headers, in place, into what the backend receives.
 * `keepUpgrade`: a WebSocket upgrade keeps `Connection: upgrade` and `Upgrade`.
 * `chunked`: the client's body is chunked; the upstream side frames it as chunked too (our own
 * framing: never the client's Transfer-Encoding value, never an unframed body).
 */
export function rewriteRequestHeaders(
  headers: IncomingHttpHeaders,
  fwd: ForwardedValues,
  keepUpgrade: boolean,
  chunked: boolean,
): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    stripConnectionTokens(headers, connection);
    delete headers.connection;
  }
  if (headers['keep-alive'] !== undefined) delete headers['keep-alive'];
  if (headers['proxy-connection'] !== undefined) delete headers['proxy-connection'];
  if (headers.te !== undefined) delete headers.te;
  if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
  if (headers['http2-settings'] !== undefined) delete headers['http2-settings'];
  if (keepUpgrade) {
    headers.connection = 'upgrade';
    headers.upgrade = 'websocket';
  } else if (headers.upgrade !== undefined) {
    delete headers.upgrade;
  }
  if (chunked) headers['transfer-encoding'] = 'chunked';
  const xff = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = xff === undefined || xff === '' ? fwd.clientIp : `${xff}, ${fwd.clientIp}`;
  headers['x-forwarded-proto'] = fwd.proto;
  headers['x-forwarded-host'] = fwd.host;
  headers['x-forwarded-port'] = fwd.port;
  headers['x-real-ip'] = fwd.clientIp;
  headers['x-request-id'] = fwd.requestId;
}

/**
 * The response headers for the client, as a flat [name, value, …] list for `writeHead`: the backend's
 * headers in their order and spelling, minus hop-by-hop ones, plus Server when missing and
 * `Connection: close` when the gateway is closing the client connection.
 */
export function responseHeaders(raw: readonly string[], close: boolean): string[] {
  const out: string[] = [];
  let connectionTokens: Set<string> | undefined;
  let hasServer = false;
  // Connection may name more headers to drop: find it first (it is usually absent).
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase();
        if (t === '' || t === 'content-length') continue;
        connectionTokens ??= new Set();
        connectionTokens.add(t);
      }
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (connectionTokens !== undefined || CHECKED_LENGTHS[name.length] === true) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || connectionTokens?.has(lower)) continue;
      if (lower === 'server') hasServer = true;
    }
    out.push(name, raw[i + 1]!);
  }
  if (!hasServer) out.push('Server', SERVER_NAME);
  if (close) out.push('Connection', 'close');
  return out;
}

/** X-Request-ID values: 32 hex digits like nginx's `$request_id`, a random prefix plus a counter. */
export class RequestIds {
  private readonly prefix: string;
  private counter = 0;

  constructor(randomHex: string) {
    this.prefix = randomHex.slice(0, 20).padStart(20, '0');
  }

  next(): string {
    this.counter = (this.counter + 1) % 0x1000000000000;
    return this.prefix + this.counter.toString(16).padStart(12, '0');
  }
}
