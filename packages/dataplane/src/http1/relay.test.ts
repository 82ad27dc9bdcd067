// The two halves composed as the DataPlane will compose them: one object per request is the
// ExchangeListener of the client side, the DispatchHandler and the RequestBodySource of the upstream side.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClock } from './clock.js';
import type { Exchange, ExchangeListener, UpgradeTarget } from './server-connection.js';
import { ServerConnection } from './server-connection.js';
import { closeServer, listen, RawClient } from './testing.test-support.js';
import {
  type DispatchController,
  type DispatchHandler,
  type PoolFailure,
  type RequestBodySource,
  UpstreamPool,
} from './upstream-pool.js';

const clock = new ConnectionClock(10);
const servers: net.Server[] = [];
const clients: RawClient[] = [];
const pools: UpstreamPool[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const p of pools.splice(0)) p.close();
  for (const s of servers.splice(0)) {
    (s as http.Server).closeAllConnections?.();
    await closeServer(s);
  }
});

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'trailer',
  'content-length',
]);

class Relay implements ExchangeListener, DispatchHandler, RequestBodySource, UpgradeTarget {
  controller: DispatchController | null = null;
  failure: PoolFailure | null = null;

  constructor(
    readonly ex: Exchange,
    pool: UpstreamPool,
    target: { address: string; port: number },
  ) {
    let bodyLength = 0;
    const headers: string[] = [];
    const raw = ex.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (lower === 'content-length') bodyLength = Number(raw[i + 1]);
      else if (lower === 'transfer-encoding') bodyLength = -1;
      else if (!HOP.has(lower) || (ex.upgrade && lower !== 'te')) headers.push(raw[i]!, raw[i + 1]!);
    }
    ex.listen(this);
    const head = { method: ex.method, path: ex.url, headers, bodyLength };
    this.controller = pool.dispatch(target, head, bodyLength !== 0 ? this : null, this);
  }

  onHead(status: number, raw: string[]): void {
    let length = -1;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (lower === 'content-length') length = Number(raw[i + 1]);
      else if (!HOP.has(lower)) headers.push(raw[i]!, raw[i + 1]!);
    }
    this.ex.writeHead(status, [...headers, 'Server', 'gateway'], length);
  }
  onData(chunk: Buffer): boolean {
    return this.ex.write(chunk);
  }
  onEnd(trailers: string[]): void {
    this.ex.end(trailers);
  }
  onError(kind: PoolFailure): void {
    this.failure = kind;
    if (this.ex.status !== 0) {
      this.ex.destroy();
      return;
    }
    this.ex.writeHead(kind === 'timeout' ? 504 : 502, ['Content-Type', 'text/plain'], 4);
    this.ex.write(kind === 'timeout' ? '504\n' : '502\n');
    this.ex.end();
  }
  onUpgrade(_status: number, raw: string[], upstream: net.Socket, head: Buffer): void {
    this.upstream = upstream;
    this.upstreamHead = raw;
    this.upstreamBytes = head;
    this.ex.acceptUpgrade(this);
  }
  private upstream: net.Socket | null = null;
  private upstreamHead: string[] = [];
  private upstreamBytes: Buffer = Buffer.alloc(0);
  onUpgradeSocket(_ex: Exchange, client: net.Socket, clientBytes: Buffer): void {
    const upstream = this.upstream!;
    let head = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i < this.upstreamHead.length; i += 2)
      head += `${this.upstreamHead[i]}: ${this.upstreamHead[i + 1]}\r\n`;
    client.write(`${head}\r\n`);
    if (this.upstreamBytes.length > 0) client.write(this.upstreamBytes);
    if (clientBytes.length > 0) upstream.write(clientBytes);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
  // RequestBodySource
  start(controller: DispatchController): void {
    // Called inside dispatch() when a pooled connection is free: use this controller, not its return.
    this.controller = controller;
    this.ex.readBody();
  }
  pause(): void {
    this.ex.pauseBody();
  }
  resume(): void {
    this.ex.resumeBody();
  }
  abort(): void {}
  // ExchangeListener
  onBodyData(_ex: Exchange, chunk: Buffer): void {
    this.controller!.writeBody(chunk);
  }
  onBodyEnd(_ex: Exchange, trailers: string[]): void {
    this.controller!.endBody(trailers);
  }
  onDrain(): void {
    this.controller!.resume();
  }
  onAbort(): void {
    this.controller!.abort();
  }
}

async function setup(backend: http.Server, host: string) {
  servers.push(backend);
  const target = { address: host, port: await listen(backend, host) };
  const pool = new UpstreamPool({ clock, readTimeoutMs: 500 });
  pools.push(pool);
  const relays: Relay[] = [];
  const proxy = net.createServer({ allowHalfOpen: true }, (socket) => {
    new ServerConnection(socket, { onRequest: (ex) => relays.push(new Relay(ex, pool, target)) }, { clock });
  });
  servers.push(proxy);
  const port = await listen(proxy);
  return {
    pool,
    target,
    relays,
    async client() {
      const c = new RawClient(port);
      clients.push(c);
      await c.connected();
      return c;
    },
  };
}

describe('http1: ServerConnection + UpstreamPool as a proxy', () => {
  it('relays pipelined GETs in order over pooled upstream connections', async () => {
    const backend = http.createServer((req, res) => {
      setTimeout(() => res.end(`body of ${req.url}`), req.url === '/1' ? 30 : 0);
    });
    const { pool, target, client } = await setup(backend, '127.0.60.30');
    const c = await client();
    c.send(
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await c.until((t) => t.includes('body of /3'));
    const at = ['/1', '/2', '/3'].map((p) => c.text.indexOf(`body of ${p}`));
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(c.count('Server: gateway')).toBe(3);
    expect(pool.idleCount(target)).toBeGreaterThan(0);
  });

  it('streams a chunked request body with trailers and 100-continue to the backend, a chunked answer back', async () => {
    const backend = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => {
        res.write(`got ${Buffer.concat(parts)} `);
        res.end(JSON.stringify(req.trailers));
      });
    });
    const { client } = await setup(backend, '127.0.60.31');
    const c = await client();
    c.send('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
    await c.until((t) => t.startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
    c.send('3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n');
    await c.until((t) => t.endsWith('0\r\n\r\n'));
    expect(c.text).toContain('Transfer-Encoding: chunked');
    expect(c.text).toContain('got abcde ');
    expect(c.text).toContain('{"x-t":"1"}');
  });

  it('relays a large response and a large request body intact under backpressure', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const backend = http.createServer((req, res) => {
      if (req.method === 'GET') return res.end(big);
      let n = 0;
      let sum = 0;
      req.on('data', (d: Buffer) => {
        for (const b of d) sum = (sum + b) % 1_000_003;
        n += d.length;
      });
      req.on('end', () => res.end(`${n}:${sum}`));
    });
    const { client } = await setup(backend, '127.0.60.32');
    const c = await client();
    c.socket.pause();
    c.send('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    c.socket.resume();
    const headEnd = () => c.data.indexOf('\r\n\r\n') + 4;
    await c.until(() => c.data.length >= headEnd() + big.length && headEnd() > 3);
    expect(c.data.subarray(headEnd()).equals(big)).toBe(true);
    let sum = 0;
    for (const b of big) sum = (sum + b) % 1_000_003;
    const d = await client();
    d.send(`PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`);
    d.send(big);
    await d.until((t) => t.endsWith(`${big.length}:${sum}`));
  });

  it('answers 502 when the backend refuses, 504 when it is silent', async () => {
    const backend = http.createServer((req, res) => {
      if (req.url === '/slow') return;
      res.end('x');
    });
    const { client, relays } = await setup(backend, '127.0.60.33');
    const c = await client();
    c.send('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.until((t) => t.includes('504'));
    expect(relays[0]!.failure).toBe('timeout');
    await closeServer(backend);
  });

  it('tunnels a WebSocket upgrade', async () => {
    const backend = http.createServer();
    backend.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d) => socket.write(`echo:${d}`));
      socket.on('end', () => socket.end());
    });
    const { client } = await setup(backend, '127.0.60.34');
    const c = await client();
    c.send('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await c.until((t) => t.includes('\r\n\r\n'));
    expect(c.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*Upgrade: websocket/);
    c.send('ping');
    await c.until((t) => t.endsWith('echo:ping'));
    c.destroy();
    await once(c.socket, 'close');
  });
});
