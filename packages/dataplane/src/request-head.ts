// A client's request head, read once: the facts the request checks need (Host count, framing), and the
// header block the backend receives — hop-by-hop fields removed (RFC 9110 §7.6.1: Connection and the
// fields it names, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade outside a WebSocket
// upgrade, HTTP2-Settings; Expect, which the gateway answers itself, as nginx does), the gateway's own
// framing left to the upstream pool, and the forwarded fields set. Names keep the client's spelling and
// order; repeated fields are passed on as repeated.

/** What one scan of the raw header list finds. */
export class RequestHead {
  hosts = 0;
  host: string | undefined = undefined;
  transferEncoding: string | undefined = undefined;
  contentLength: string | undefined = undefined;
  /** X-Forwarded-For values joined with ', ' (as Node joins them), '' when absent. */
  forwardedFor = '';
  requestId = '';
  /** Lowercased names `Connection` lists (other than keep-alive, close, upgrade), or null. */
  connectionTokens: Set<string> | null = null;
  upgradeWebSocket = false;
  /** Request line plus header lines as received (nginx's share of `$request_length`). */
  bytes = 0;

  constructor(method: string, url: string, raw: readonly string[]) {
    let bytes = method.length + url.length + 12 + 2;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      bytes += name.length + value.length + 4;
      const n = name.length;
      if (!CHECKED[n]) continue;
      const lower = name.toLowerCase();
      switch (lower) {
        case 'host':
          this.hosts++;
          this.host ??= value;
          break;
        case 'transfer-encoding':
          this.transferEncoding =
            this.transferEncoding === undefined ? value : `${this.transferEncoding}, ${value}`;
          break;
        case 'content-length':
          this.contentLength ??= value;
          break;
        case 'x-forwarded-for':
          this.forwardedFor = this.forwardedFor === '' ? value : `${this.forwardedFor}, ${value}`;
          break;
        case 'x-request-id':
          if (this.requestId === '') this.requestId = value;
          break;
        case 'upgrade':
          if (value.toLowerCase() === 'websocket') this.upgradeWebSocket = true;
          break;
        case 'connection':
          this.addConnectionTokens(value);
          break;
      }
    }
    this.bytes = bytes;
  }

  private addConnectionTokens(value: string): void {
    if (value.length <= 10) {
      const v = value.toLowerCase();
      if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return;
    }
    for (const raw of value.split(',')) {
      const t = raw.trim().toLowerCase();
      if (t === '' || t === 'keep-alive' || t === 'close' || t === 'upgrade' || PROTECTED.has(t)) continue;
      this.connectionTokens ??= new Set();
      this.connectionTokens.add(t);
    }
  }
}

/** Fields never copied to the backend: hop-by-hop, the framing, and the fields the gateway sets. */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
  'content-length',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);

/** Names a client may list in `Connection` that must survive: dropping them would change framing or routing. */
const PROTECTED = new Set(['host', 'content-length']);

/** Lengths of the names scanned or dropped: other names need no lowercasing (the usual case). */
const CHECKED: readonly boolean[] = (() => {
  const lengths: boolean[] = [];
  for (const name of DROPPED) lengths[name.length] = true;
  return lengths;
})();

export interface ForwardedFields {
  readonly clientIp: string;
  /** `X-Forwarded-Proto` and `X-Forwarded-Port` of the listener, preformatted once per listener. */
  readonly listenerFields: string;
  /** The Host the backend receives ('' when the client sent none: the endpoint's address is used). */
  readonly authority: string;
  readonly requestId: string;
}

/**
 * The header block (`Name: value\r\n` lines, no framing fields) for the backend. `webSocket` keeps the
 * upgrade (`Connection: upgrade`, `Upgrade: websocket`). The Host line comes first, as nginx sends it.
 */
export function upstreamHeaderBlock(
  head: RequestHead,
  raw: readonly string[],
  fwd: ForwardedFields,
  webSocket: boolean,
): string {
  let block = fwd.authority === '' ? '' : `Host: ${fwd.authority}\r\n`;
  const tokens = head.connectionTokens;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (CHECKED[name.length] || tokens !== null) {
      const lower = name.toLowerCase();
      if (DROPPED.has(lower) || tokens?.has(lower)) continue;
    }
    block += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (webSocket) block += 'Connection: upgrade\r\nUpgrade: websocket\r\n';
  const xff = head.forwardedFor === '' ? fwd.clientIp : `${head.forwardedFor}, ${fwd.clientIp}`;
  return (
    `${block}X-Forwarded-For: ${xff}\r\n${fwd.listenerFields}X-Forwarded-Host: ${fwd.authority}\r\n` +
    `X-Real-IP: ${fwd.clientIp}\r\nX-Request-ID: ${fwd.requestId}\r\n`
  );
}

/** `X-Forwarded-Proto` and `X-Forwarded-Port` lines of a listener. */
export function listenerFields(proto: string, port: string): string {
  return `X-Forwarded-Proto: ${proto}\r\nX-Forwarded-Port: ${port}\r\n`;
}
