// Responses the gateway writes itself (308, 400, 404, 431, 502, 503, 504), built once: every one carries
// Server, Content-Type and Content-Length, as the design's "HTTP behaviour" asks.
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

export const SERVER_NAME = 'ingress-gateway';

export type GatewayStatus = 308 | 400 | 404 | 408 | 431 | 499 | 500 | 501 | 502 | 503 | 504;

interface Canned {
  readonly status: number;
  readonly reason: string;
  readonly body: Buffer;
  /** Flat [name, value, …] list for `writeHead`. */
  readonly headers: readonly string[];
  /** The same with `Connection: close`. */
  readonly closingHeaders: readonly string[];
  /** The whole response as bytes, for raw sockets (clientError, failed upgrades). */
  readonly raw: Buffer;
}

function build(status: number): Canned {
  const reason = STATUS_CODES[status] ?? 'Unknown';
  const body = Buffer.from(
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>${SERVER_NAME}</center>\r\n</body>\r\n</html>\r\n`,
  );
  const headers = ['Server', SERVER_NAME, 'Content-Type', 'text/html', 'Content-Length', String(body.length)];
  const closingHeaders = [...headers, 'Connection', 'close'];
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < closingHeaders.length; i += 2)
    head += `${closingHeaders[i]}: ${closingHeaders[i + 1]}\r\n`;
  const raw = Buffer.concat([Buffer.from(`${head}\r\n`), body]);
  return { status, reason, body, headers, closingHeaders, raw };
}

const canned = new Map<number, Canned>();
for (const status of [308, 400, 404, 408, 413, 431, 500, 501, 502, 503, 504])
  canned.set(status, build(status));

function get(status: number): Canned {
  let c = canned.get(status);
  if (c === undefined) {
    c = build(status);
    canned.set(status, c);
  }
  return c;
}

/** Writes a gateway response on a node:http response; `close` asks Node to close the connection after. */
export function sendGatewayResponse(res: ServerResponse, status: number, close: boolean): void {
  const c = get(status);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, c.reason, (close ? c.closingHeaders : c.headers) as string[]);
  res.end(c.body);
}

/** The 308 to https: the Location is per request, the rest is canned. */
export function sendRedirect(res: ServerResponse, location: string, close: boolean): void {
  const c = get(308);
  const headers = (close ? c.closingHeaders : c.headers).slice();
  headers.push('Location', location);
  res.writeHead(308, c.reason, headers);
  res.end(c.body);
}

/** Writes a gateway response on a raw socket (parser errors, failed upgrades) and closes it. */
export function writeRawResponse(socket: Socket, status: number): void {
  if (socket.destroyed) return;
  if (socket.writable) socket.end(get(status).raw);
  else socket.destroy();
}

/** A 308 on a raw socket (a WebSocket upgrade to a TLS host over plain HTTP), then close. */
export function writeRawRedirect(socket: Socket, location: string): void {
  if (socket.destroyed) return;
  const c = get(308);
  let head = `HTTP/1.1 308 ${c.reason}\r\n`;
  for (let i = 0; i < c.closingHeaders.length; i += 2)
    head += `${c.closingHeaders[i]}: ${c.closingHeaders[i + 1]}\r\n`;
  socket.end(Buffer.concat([Buffer.from(`${head}Location: ${location}\r\n\r\n`), c.body]));
}

/** Bytes a raw gateway response takes on the wire (for the access log). */
export function rawResponseLength(status: number): number {
  return get(status).raw.length;
}
