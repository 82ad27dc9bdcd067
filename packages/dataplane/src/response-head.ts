// A backend's response head as the client receives it: the backend's fields in their order and spelling,
// minus hop-by-hop ones (and those `Connection` names), `Server` added when missing. Content-Length is
// taken out and handed to the client side, which frames the body itself (a Content-Length stays one).
import { SERVER_NAME } from './gateway-responses.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Lengths of the names above, `server` and `content-length`: other names need no lowercasing. */
const CHECKED: readonly boolean[] = (() => {
  const lengths: boolean[] = [];
  for (const name of [...HOP_BY_HOP, 'server', 'content-length']) lengths[name.length] = true;
  return lengths;
})();

const SERVER_LINE = `Server: ${SERVER_NAME}\r\n`;

/** Receives the backend's Content-Length (-1 when it sent none: chunked or close-delimited). */
export interface ResponseFraming {
  contentLength: number;
}

/** The client's header block (`Name: value\r\n` lines, no framing) for a backend's raw header list. */
export function clientHeaderBlock(raw: readonly string[], framing: ResponseFraming): string {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase();
        if (t === '' || t === 'content-length' || t === 'close' || t === 'keep-alive') continue;
        tokens ??= new Set();
        tokens.add(t);
      }
    }
  }
  let block = '';
  let hasServer = false;
  framing.contentLength = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (tokens !== undefined || CHECKED[name.length] === true) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || tokens?.has(lower)) continue;
      if (lower === 'content-length') {
        framing.contentLength = Number(raw[i + 1]);
        continue;
      }
      if (lower === 'server') hasServer = true;
    }
    block += `${name}: ${raw[i + 1]}\r\n`;
  }
  return hasServer ? block : block + SERVER_LINE;
}

/** The 101 head of an accepted WebSocket upgrade: the backend's fields as sent (they carry the upgrade). */
export function switchingProtocolsHead(raw: readonly string[]): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}
