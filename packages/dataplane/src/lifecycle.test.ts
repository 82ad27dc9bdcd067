import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  apply,
  backend,
  config,
  defer,
  type Gateway,
  request,
  runDeferred,
  startBackends,
  startGateway,
  until,
} from './harness.test-support.js';

afterEach(runDeferred);

function connectResult(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/** A backend whose responses wait until the test releases them. */
async function heldBackend(ip: string) {
  const waiting: http.ServerResponse[] = [];
  const b = await startBackends([ip], (req, res) => {
    if (req.url === '/slow') waiting.push(res);
    else res.end('fast');
  });
  defer(() => b.close());
  return { b, waiting };
}

describe('graceful close', () => {
  it('lets an in-flight request finish, refuses new connections, closes idle keep-alive ones', async () => {
    const { b, waiting } = await heldBackend('127.0.3.61');
    const gw: Gateway = await startGateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.61', port: b.port }]) }]),
    );
    // An idle keep-alive client connection.
    const idle = net.connect(gw.http, '127.0.0.1');
    idle.write('GET /fast HTTP/1.1\r\nHost: a\r\n\r\n');
    await once(idle, 'data');
    const idleClosed = once(idle, 'close');

    const slow = request(gw.http, { path: '/slow' });
    await until(() => waiting.length === 1, 'slow request at the backend');
    const closed = gw.plane.close(5000);
    await idleClosed;
    expect(await connectResult(gw.http)).toBe('ECONNREFUSED');
    expect(await connectResult(gw.https)).toBe('ECONNREFUSED');
    waiting[0]!.end('slow done');
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.body).toBe('slow done');
    expect(r.headers.connection).toBe('close');
    await closed;
  });

  it('destroys what is left after the timeout and closes open WebSockets', async () => {
    const { b, waiting } = await heldBackend('127.0.3.62');
    const wsServer = http.createServer();
    const wss = new WebSocketServer({ server: wsServer });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
    wsServer.listen(0, '127.0.3.63');
    await once(wsServer, 'listening');
    defer(() => {
      wsServer.closeAllConnections();
      wsServer.close();
    });
    const wsPort = (wsServer.address() as net.AddressInfo).port;
    const gw = await startGateway(
      config([
        { host: 'ws', path: '/', backend: backend('ws', [{ address: '127.0.3.63', port: wsPort }]) },
        { host: '', path: '/', backend: backend('a', [{ address: '127.0.3.62', port: b.port }]) },
      ]),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${gw.http}/`, { headers: { host: 'ws' } });
    ws.on('error', () => {});
    await once(ws, 'open');
    const wsClosed = once(ws, 'close');
    const slow = request(gw.http, { path: '/slow' }).then(
      () => 'answered',
      () => 'cut',
    );
    await until(() => waiting.length === 1, 'slow request at the backend');
    const t0 = performance.now();
    await gw.plane.close(150);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await slow).toBe('cut');
    await wsClosed;
  });
});

describe('config swaps', () => {
  it('loses no keep-alive request while configs swap, keeps a streaming download', async () => {
    const streams: http.ServerResponse[] = [];
    const b = await startBackends(['127.0.3.64', '127.0.3.65'], (req, res, ip) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('start;');
        streams.push(res);
        return;
      }
      res.end(ip);
    });
    defer(() => b.close());
    const one = config([
      { host: '', path: '/', backend: backend('a', [{ address: '127.0.3.64', port: b.port }]) },
    ]);
    const two = config([
      { host: '', path: '/', backend: backend('a', [{ address: '127.0.3.65', port: b.port }]) },
    ]);
    const none = config([]);
    const gw = await startGateway(one);
    defer(() => gw.close());

    // A long download that starts on `one` and goes on while the route disappears and comes back.
    const download = new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: gw.http, path: '/stream', headers: { host: 'x' } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    await until(() => streams.length === 1, 'download started');

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    defer(() => agent.destroy());
    let swaps = 0;
    let running = true;
    const swapper = (async () => {
      for (let i = 0; running && i < 100_000; i++) {
        apply(gw.plane, i % 2 === 0 ? two : one);
        swaps++;
        if (i % 10 === 0) streams[0]!.write(`${i};`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 300 }, () =>
        request(gw.http, { agent }).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    running = false;
    await swapper;
    expect(results.filter((s) => s !== 200)).toEqual([]);
    expect(swaps).toBeGreaterThan(10);

    apply(gw.plane, none);
    expect((await request(gw.http)).status).toBe(404);
    streams[0]!.end('end');
    const body = await download;
    expect(body.startsWith('start;')).toBe(true);
    expect(body.endsWith('end')).toBe(true);
  });
});
