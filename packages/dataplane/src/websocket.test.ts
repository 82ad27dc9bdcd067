import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  apply,
  backend,
  config,
  type Gateway,
  raw,
  runDeferred,
  startGateway,
  trackedGateway,
  unansweredPorts,
  until,
} from './harness.test-support.js';

/** A WebSocket handshake written by hand (`target` as given: origin or absolute form). */
function upgradeRequest(target: string, host: string): string {
  return (
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}

describe('WebSocket upgrades', () => {
  const servers: http.Server[] = [];
  let port = 0;
  let gw: Gateway;
  const upgrades: http.IncomingHttpHeaders[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    const ip = '127.0.3.32';
    const server = http.createServer((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      upgrades.push(req.headers);
      urls.push(req.url ?? '');
      ws.on('message', (m) => ws.send(`${ip}:${m.toString()}`));
    });
    server.listen(0, ip);
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    servers.push(server);
    const eps = [
      { address: '127.0.3.31', port }, // nothing listens there: refused, retried
      { address: '127.0.3.32', port },
    ];
    gw = await startGateway(
      config([
        { host: 'ws.example.com', path: '/', backend: backend('ws', eps) },
        { host: 'secure.example.com', path: '/', backend: backend('ws', eps), tlsRedirect: true },
        { host: 'dead.example.com', path: '/', backend: backend('dead', [{ address: '127.0.3.31', port }]) },
      ]),
    );
  });
  afterAll(async () => {
    await gw.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  async function open(url: string, host: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
    const ws = new WebSocket(url, { headers: { host }, ...opts });
    ws.on('error', () => {});
    await once(ws, 'open');
    return ws;
  }

  async function echo(ws: WebSocket, text: string): Promise<string> {
    ws.send(text);
    const [data] = (await once(ws, 'message')) as [Buffer];
    return data.toString();
  }

  it('proxies an upgrade on the plain port, retrying a refused endpoint', async () => {
    for (let i = 0; i < 2; i++) {
      const ws = await open(`ws://127.0.0.1:${gw.http}/chat`, 'ws.example.com');
      expect(await echo(ws, `hi${i}`)).toBe(`127.0.3.32:hi${i}`);
      ws.close();
      await once(ws, 'close');
    }
    const h = upgrades.at(-1)!;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    await until(() => gw.records.filter((r) => r.status === 101).length >= 2, 'tunnel records');
    const rec = gw.records.find((r) => r.status === 101)!;
    expect(rec).toMatchObject({ method: 'GET', host: 'ws.example.com', path: '/chat', service: 'ws' });
  });

  it('proxies an upgrade on the TLS port', async () => {
    const ws = await open(`wss://127.0.0.1:${gw.https}/`, 'secure.example.com', {
      rejectUnauthorized: false,
    });
    expect(await echo(ws, 'tls')).toBe('127.0.3.32:tls');
    expect(upgrades.at(-1)!['x-forwarded-proto']).toBe('https');
    ws.close();
    await once(ws, 'close');
  });

  it('redirects a plain upgrade to a TLS host, 404s an unknown host, 502s a dead backend', async () => {
    for (const [host, status] of [
      ['secure.example.com', 308],
      ['nope.example.com', 404],
      ['dead.example.com', 502],
    ] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.http}/`, { headers: { host } });
      ws.on('error', () => {});
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
      expect(res.statusCode).toBe(status);
      expect(res.headers.server).toBeTruthy();
      if (status === 308) expect(res.headers.location).toBe('https://secure.example.com/');
      res.resume();
      ws.terminate();
    }
  });

  it('routes an absolute-form upgrade by its authority and forwards it in origin form', async () => {
    const socket = net.connect(gw.http, '127.0.0.1');
    socket.write(upgradeRequest('http://ws.example.com/abs?x=1', 'nope.test'));
    const [first] = (await once(socket, 'data')) as [Buffer];
    expect(first.toString()).toMatch(/^HTTP\/1\.1 101 /);
    expect(urls.at(-1)).toBe('/abs?x=1');
    expect(upgrades.at(-1)!.host).toBe('ws.example.com');
    expect(upgrades.at(-1)!['x-forwarded-host']).toBe('ws.example.com');
    socket.destroy();
    await until(() => gw.records.some((r) => r.path === '/abs?x=1'), 'tunnel record');
    expect(gw.records.find((r) => r.path === '/abs?x=1')).toMatchObject({
      status: 101,
      host: 'ws.example.com',
      service: 'ws',
    });
    // The redirect of a TLS host, and a target that is not a URL, as a plain request gets them.
    const redirected = await raw(gw.http, upgradeRequest('http://secure.example.com/r?q', 'nope.test'));
    expect(redirected).toMatch(/^HTTP\/1\.1 308 /);
    expect(redirected).toContain('\r\nLocation: https://secure.example.com/r?q\r\n');
    expect(await raw(gw.http, upgradeRequest('ftp://ws.example.com/', 'ws.example.com'))).toMatch(
      /^HTTP\/1\.1 400 /,
    );
  });

  it('keeps an open WebSocket across config swaps', async () => {
    const ws = await open(`ws://127.0.0.1:${gw.http}/`, 'ws.example.com');
    const original = config([
      { host: 'ws.example.com', path: '/', backend: backend('ws', [{ address: '127.0.3.32', port }]) },
    ]);
    for (let i = 0; i < 5; i++) {
      apply(gw.plane, config([]));
      expect(await echo(ws, `swap${i}`)).toBe(`127.0.3.32:swap${i}`);
      apply(gw.plane, original);
    }
    ws.close();
    await once(ws, 'close');
  });
});

describe('WebSocket upstream failures', () => {
  afterEach(runDeferred);

  it('answers 504 and logs 504 when every endpoint times out on connect', async () => {
    const ips = ['127.0.3.41', '127.0.3.42'];
    const ports = await unansweredPorts(ips);
    const eps = ips.map((address, i) => ({ address, port: ports[i]! }));
    const gw = await trackedGateway(
      config([{ host: 'slow.example.com', path: '/', backend: backend('slow', eps) }]),
      {
        connectTimeoutMs: 100,
      },
    );
    const out = await raw(gw.http, upgradeRequest('/ws', 'slow.example.com'));
    expect(out).toMatch(/^HTTP\/1\.1 504 /);
    await until(() => gw.records.length === 1, 'record');
    expect(gw.records[0]).toMatchObject({
      status: 504,
      upstream_status: '504, 504',
      upstream_addr: eps.map((e) => `${e.address}:${e.port}`).join(', '),
    });
  });
});
