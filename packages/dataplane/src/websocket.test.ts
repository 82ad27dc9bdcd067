import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { apply, backend, config, type Gateway, startGateway, until } from './harness.test-support.js';

describe('WebSocket upgrades', () => {
  const servers: http.Server[] = [];
  let port = 0;
  let gw: Gateway;
  const upgrades: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    const ip = '127.0.3.32';
    const server = http.createServer((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      upgrades.push(req.headers);
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
