// The one-pass head rewriters, table-driven: what the backend receives from a client's head, and what
// the client receives from a backend's.
import { describe, expect, it } from 'vitest';
import { listenerFields, RequestHead, upstreamHeaderBlock } from './request-head.js';
import { clientHeaderBlock, switchingProtocolsHead } from './response-head.js';

const fwd = {
  clientIp: '10.0.0.9',
  listenerFields: listenerFields('http', '8080'),
  authority: 'app.example',
  requestId: 'rid',
};

function lines(block: string): string[] {
  return block.split('\r\n').filter((l) => l !== '');
}

function upstream(raw: string[], webSocket = false, authority = 'app.example'): string[] {
  const head = new RequestHead('GET', '/', raw);
  return lines(upstreamHeaderBlock(head, raw, { ...fwd, authority }, webSocket));
}

const FORWARDED = [
  'X-Forwarded-Proto: http',
  'X-Forwarded-Port: 8080',
  'X-Forwarded-Host: app.example',
  'X-Real-IP: 10.0.0.9',
  'X-Request-ID: rid',
];

describe('upstreamHeaderBlock', () => {
  it.each<[string, string[], string[]]>([
    [
      'keeps end-to-end fields in order and spelling, Host first, forwarded fields last',
      ['user-AGENT', 'curl', 'Host', 'app.example:8080', 'Accept', '*/*'],
      ['Host: app.example', 'user-AGENT: curl', 'Accept: */*', 'X-Forwarded-For: 10.0.0.9', ...FORWARDED],
    ],
    [
      'drops hop-by-hop fields, framing, Expect and the fields it sets itself',
      [
        'Host',
        'a',
        'Connection',
        'keep-alive',
        'Keep-Alive',
        'timeout=5',
        'Proxy-Connection',
        'x',
        'TE',
        'trailers',
        'Transfer-Encoding',
        'chunked',
        'Upgrade',
        'h2c',
        'HTTP2-Settings',
        'AAA',
        'Expect',
        '100-continue',
        'Content-Length',
        '3',
        'X-Real-IP',
        '1.2.3.4',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'evil',
        'X-Forwarded-Port',
        '1',
        'Cookie',
        'a=1',
      ],
      ['Host: app.example', 'Cookie: a=1', 'X-Forwarded-For: 10.0.0.9', ...FORWARDED],
    ],
    [
      'drops what Connection names, except Host and Content-Length',
      ['Host', 'a', 'Connection', 'close, X-Secret , host, content-length', 'X-Secret', 's', 'X-Other', 'o'],
      ['Host: app.example', 'X-Other: o', 'X-Forwarded-For: 10.0.0.9', ...FORWARDED],
    ],
    [
      'appends the client to X-Forwarded-For, joining repeated fields',
      ['Host', 'a', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'],
      ['Host: app.example', 'X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.9', ...FORWARDED],
    ],
    [
      'passes repeated end-to-end fields as repeated',
      ['Host', 'a', 'Cookie', 'a=1', 'Cookie', 'b=2'],
      ['Host: app.example', 'Cookie: a=1', 'Cookie: b=2', 'X-Forwarded-For: 10.0.0.9', ...FORWARDED],
    ],
  ])('%s', (_name, raw, expected) => {
    expect(upstream(raw)).toEqual(expected);
  });

  it('keeps the upgrade of a WebSocket, as Connection: upgrade and Upgrade: websocket', () => {
    const raw = ['Host', 'a', 'Connection', 'Upgrade', 'Upgrade', 'WebSocket', 'Sec-WebSocket-Key', 'k'];
    expect(new RequestHead('GET', '/', raw).upgradeWebSocket).toBe(true);
    expect(upstream(raw, true)).toEqual([
      'Host: app.example',
      'Sec-WebSocket-Key: k',
      'Connection: upgrade',
      'Upgrade: websocket',
      'X-Forwarded-For: 10.0.0.9',
      ...FORWARDED,
    ]);
  });

  it('sends no Host line when the client sent none (the try adds its endpoint)', () => {
    expect(upstream(['Accept', '*/*'], false, '')[0]).toBe('Accept: */*');
  });
});

describe('RequestHead', () => {
  it('counts Host fields, keeps the first request id, joins Transfer-Encoding, measures the head', () => {
    const raw = [
      'Host',
      'a',
      'host',
      'b',
      'X-Request-ID',
      'r1',
      'x-request-id',
      'r2',
      'Transfer-Encoding',
      'gzip',
      'Transfer-Encoding',
      'chunked',
    ];
    const h = new RequestHead('POST', '/x', raw);
    expect(h).toMatchObject({ hosts: 2, host: 'a', requestId: 'r1', transferEncoding: 'gzip, chunked' });
    // "POST /x HTTP/1.1\r\n" + each "Name: value\r\n" + the final CRLF.
    const expected = 'POST /x HTTP/1.1\r\n'.length + raw.reduce((n, s) => n + s.length + 2, 0) + 2;
    expect(h.bytes).toBe(expected);
  });
});

describe('clientHeaderBlock', () => {
  it.each<[string, string[], string[], number]>([
    [
      'keeps the backend fields in order, adds Server when missing, takes out Content-Length',
      ['Content-Type', 'text/plain', 'Content-Length', '5', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
      ['Content-Type: text/plain', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Server: ingress-gateway'],
      5,
    ],
    [
      'keeps the backend Server, drops hop-by-hop fields and what Connection names',
      [
        'server',
        'nginx',
        'Connection',
        'close, X-Hop',
        'X-Hop',
        '1',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'Upgrade',
        'x',
        'Vary',
        'a',
      ],
      ['server: nginx', 'Vary: a'],
      -1,
    ],
  ])('%s', (_name, raw, expected, length) => {
    const framing = { contentLength: 0 };
    expect(lines(clientHeaderBlock(raw, framing))).toEqual(expected);
    expect(framing.contentLength).toBe(length);
  });

  it('relays a 101 head as the backend sent it', () => {
    expect(switchingProtocolsHead(['Upgrade', 'websocket', 'Connection', 'Upgrade'])).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
  });
});
