// Responses the gateway writes itself (308, 400, 404, 431, 502, 503, 504), built once: every one carries
// Server, Content-Type and Content-Length, as the design's "HTTP behaviour" asks.
import { STATUS_CODES } from 'node:http';
import type { Exchange } from './http1/server-connection.js';

export const SERVER_NAME = 'ingress-gateway';

export type GatewayStatus = 308 | 400 | 404 | 408 | 431 | 499 | 500 | 501 | 502 | 503 | 504;

interface Canned {
  readonly status: number;
  readonly reason: string;
  readonly body: Buffer;
  /** The whole response with `Connection: close`, as a connection sends it for a request it rejects. */
  readonly raw: Buffer;
  /** `raw` as a latin1 string (what a ServerConnection sends for its own 400/408/431). */
  readonly rawText: string;
  /** Server and Content-Type lines, for `Exchange.writeHead` (which adds the framing). */
  readonly block: string;
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
  const block = `Server: ${SERVER_NAME}\r\nContent-Type: text/html\r\n`;
  return { status, reason, body, raw, rawText: raw.toString('latin1'), block };
}

const canned = new Map<number, Canned>();
for (const status of [308, 400, 404, 408, 413, 431, 500, 501, 502, 503, 504, 505])
  canned.set(status, build(status));

function get(status: number): Canned {
  let c = canned.get(status);
  if (c === undefined) {
    c = build(status);
    canned.set(status, c);
  }
  return c;
}

/**
 * Answers an exchange with a gateway response; `close` ends the connection after it (a 400: the request
 * may not be framed right). Cut off when a response is under way already.
 */
export function answerExchange(ex: Exchange, status: number, close: boolean): void {
  if (ex.status !== 0) {
    ex.destroy();
    return;
  }
  const c = get(status);
  if (close) ex.closeAfter = true;
  ex.writeHead(status, c.block, c.body.length, c.reason);
  ex.write(c.body);
  ex.end();
}

/** The 308 to https on an exchange: the Location is per request, the rest is canned. */
export function redirectExchange(ex: Exchange, location: string, close: boolean): void {
  const c = get(308);
  if (close) ex.closeAfter = true;
  ex.writeHead(308, `${c.block}Location: ${location}\r\n`, c.body.length, c.reason);
  ex.write(c.body);
  ex.end();
}

/** The whole response a ServerConnection sends itself for a request it rejects (400, 408, 431). */
export function connectionErrorResponse(status: number): string {
  return get(status).rawText;
}

/** Bytes a connection's own error response takes on the wire (for the access log). */
export function rawResponseLength(status: number): number {
  return get(status).raw.length;
}
