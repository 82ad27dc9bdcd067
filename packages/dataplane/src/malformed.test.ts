import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backends,
  backend,
  config,
  type Gateway,
  raw,
  request,
  startBackends,
  startGateway,
} from './harness.test-support.js';

describe('malformed requests', () => {
  let backends: Backends;
  let gw: Gateway;
  const received: { url: string; body: string; complete: boolean }[] = [];

  beforeAll(async () => {
    backends = await startBackends(['127.0.3.51'], (req, res) => {
      const entry = { url: req.url ?? '', body: '', complete: false };
      received.push(entry);
      req.on('data', (c) => (entry.body += c));
      req.on('end', () => {
        entry.complete = true;
        res.end('ok');
      });
      req.on('error', () => {});
    });
    gw = await startGateway(
      config([
        { host: '', path: '/', backend: backend('web', [{ address: '127.0.3.51', port: backends.port }]) },
      ]),
    );
  });
  afterAll(async () => {
    await gw.close();
    await backends.close();
  });

  const cases: [string, string][] = [
    [
      'CL+TE',
      'POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['invalid TE', 'POST /bad-te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc'],
    ['TE not chunked last', 'POST /te2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['conflicting CL', 'POST /cl2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
    ['two Host headers', 'GET /two-hosts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['obs-fold', 'GET /fold HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n'],
    ['garbage', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET /no-host HTTP/1.1\r\n\r\n'],
    ['bad escape', 'GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['space in target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['Host with a space', 'GET /host-space HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['Host with a path', 'GET /host-path HTTP/1.1\r\nHost: a/b\r\n\r\n'],
    ['Host with userinfo', 'GET /host-user HTTP/1.1\r\nHost: u@a\r\n\r\n'],
  ];

  for (const [name, bytes] of cases) {
    it(`answers 400 and closes: ${name}`, async () => {
      const before = received.length;
      const out = await raw(gw.http, bytes);
      expect(out).toMatch(/^HTTP\/1\.1 400 /);
      expect(out).toMatch(/\r\nServer: /i);
      expect(out).toMatch(/\r\nContent-Type: /i);
      expect(out).toMatch(/\r\nContent-Length: /i);
      expect(received.length).toBe(before);
    });
  }

  it('answers 505 and closes for HTTP/2.0, the one other version llhttp reads (3.1 is a 400)', async () => {
    const version = '2.0';
    const before = received.length;
    const out = await raw(gw.http, `GET /v HTTP/${version}\r\nHost: a\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
    expect(out).toMatch(/\r\nConnection: close\r\n/i);
    const upgrade = await raw(
      gw.http,
      `GET /ws HTTP/${version}\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(upgrade).toMatch(/^HTTP\/1\.1 505 /);
    expect(await raw(gw.http, 'GET /v HTTP/3.1\r\nHost: a\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(received.length).toBe(before);
  });

  it('answers 431 when the request line and headers exceed 16 KiB', async () => {
    const out = await raw(gw.http, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 /);
    expect(out).toMatch(/\r\nServer: /i);
    const ok = await raw(
      gw.http,
      `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(15_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('never lets a body with a bad chunk size reach the backend whole', async () => {
    const out = await raw(
      gw.http,
      'POST /bad-chunk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    const entry = received.find((r) => r.url === '/bad-chunk');
    expect(entry?.complete ?? false).toBe(false);
  });

  it('harms no other client: a keep-alive neighbour keeps working', async () => {
    const agentSocket = net.connect(gw.http, '127.0.0.1');
    const responses: string[] = [];
    agentSocket.on('data', (d) => responses.push(d.toString()));
    agentSocket.write('GET /n1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise<void>((resolve) => agentSocket.once('data', () => resolve()));
    await raw(gw.http, 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    agentSocket.write('GET /n2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await new Promise((resolve) => agentSocket.once('close', resolve));
    expect(responses.join('').match(/HTTP\/1\.1 200/g)?.length).toBe(2);
    expect((await request(gw.http)).status).toBe(200);
  });
});
