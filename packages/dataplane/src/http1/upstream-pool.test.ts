import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClock } from './clock.js';
import { closeServer, listen, waitFor } from './testing.test-support.js';
import {
  type DispatchController,
  type DispatchHandler,
  type DispatchHead,
  type PoolFailure,
  type RequestBodySource,
  UpstreamPool,
  type UpstreamPoolOptions,
} from './upstream-pool.js';

const clock = new ConnectionClock(10);
const servers: net.Server[] = [];
const pools: UpstreamPool[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  for (const s of servers.splice(0)) {
    (s as http.Server).closeAllConnections?.();
    await closeServer(s);
  }
});

function pool(options: UpstreamPoolOptions = {}): UpstreamPool {
  const p = new UpstreamPool({ clock, ...options });
  pools.push(p);
  return p;
}

async function httpBackend(
  host: string,
  handler: http.RequestListener,
): Promise<{ address: string; port: number }> {
  const server = http.createServer(handler);
  servers.push(server);
  return { address: host, port: await listen(server, host) };
}

/** A raw backend: `onRequestBytes(socket, text-so-far)` is called on every chunk. */
async function rawBackend(host: string, onBytes: (socket: net.Socket, text: string) => void) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let text = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      text += d.toString('latin1');
      onBytes(socket, text);
    });
  });
  servers.push(server);
  return { target: { address: host, port: await listen(server, host) }, sockets };
}

interface Outcome {
  status: number;
  headers: string[];
  body: string;
  trailers: string[] | null;
  error: PoolFailure | null;
  controller: DispatchController;
}

class Collector implements DispatchHandler {
  status = 0;
  headers: string[] = [];
  body: Buffer[] = [];
  trailers: string[] | null = null;
  error: PoolFailure | null = null;
  pauseAfter = -1;
  dataCalls = 0;
  private resolve!: () => void;
  readonly done = new Promise<void>((r) => {
    this.resolve = r;
  });
  onHead(status: number, rawHeaders: string[]): void {
    this.status = status;
    this.headers = rawHeaders;
  }
  onData(chunk: Buffer): boolean {
    this.dataCalls++;
    this.body.push(chunk);
    return !(this.pauseAfter >= 0 && this.dataCalls > this.pauseAfter);
  }
  onEnd(trailers: string[]): void {
    this.trailers = trailers;
    this.resolve();
  }
  onError(kind: PoolFailure): void {
    this.error = kind;
    this.resolve();
  }
}

async function run(
  p: UpstreamPool,
  target: { address: string; port: number },
  head: Partial<DispatchHead>,
  body: RequestBodySource | null = null,
  fresh = false,
): Promise<Outcome> {
  const c = new Collector();
  const controller = p.dispatch(
    target,
    { method: 'GET', path: '/', headers: ['Host', 'b'], ...head },
    body,
    c,
    fresh,
  );
  await c.done;
  return {
    status: c.status,
    headers: c.headers,
    body: Buffer.concat(c.body).toString(),
    trailers: c.trailers,
    error: c.error,
    controller,
  };
}

class ArrayBody implements RequestBodySource {
  started = false;
  aborted = false;
  constructor(
    private readonly chunks: string[],
    private readonly trailers: string[] = [],
  ) {}
  start(controller: DispatchController): void {
    this.started = true;
    for (const c of this.chunks) controller.writeBody(Buffer.from(c));
    controller.endBody(this.trailers);
  }
  pause(): void {}
  resume(): void {}
  abort(): void {
    this.aborted = true;
  }
}

describe('http1/upstream-pool', () => {
  it('sends a request, relays the response, and reuses the keep-alive connection (LIFO pool)', async () => {
    const ports: number[] = [];
    const target = await httpBackend('127.0.60.1', (req, res) => {
      ports.push(req.socket.remotePort!);
      res.setHeader('X-Path', req.url!);
      res.end(`hi ${req.headers.host} ${req.headers['x-a']}`);
    });
    const p = pool();
    const first = await run(p, target, { path: '/a?b', headers: ['Host', 'h', 'X-A', '1'] });
    expect(first).toMatchObject({ status: 200, body: 'hi h 1', error: null, trailers: [] });
    expect(first.headers).toContain('X-Path');
    expect(first.controller.reused).toBe(false);
    await waitFor(() => p.idleCount(target) === 1);
    const second = await run(p, target, { headers: 'Host: pre\r\nX-A: 2\r\n' });
    expect(second.body).toBe('hi pre 2');
    expect(second.controller.reused).toBe(true);
    const third = await run(p, target, { headers: Buffer.from('Host: buf\r\nX-A: 3\r\n') });
    expect(third.body).toBe('hi buf 3');
    expect(new Set(ports).size).toBe(1);
  });

  it('keeps at most maxIdlePerEndpoint idle connections', async () => {
    const target = await httpBackend('127.0.60.2', (_req, res) => setTimeout(() => res.end('x'), 20));
    const p = pool({ maxIdlePerEndpoint: 2 });
    await Promise.all([1, 2, 3, 4].map(() => run(p, target, {})));
    expect(p.idleCount(target)).toBe(2);
  });

  it('sends Content-Length and chunked request bodies (with trailers); relays chunked responses with trailers', async () => {
    const target = await httpBackend('127.0.60.3', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => {
        res.writeHead(200, { Trailer: 'X-Sum' });
        res.write(`${req.method} ${req.headers['content-length'] ?? req.headers['transfer-encoding']} `);
        res.write(`${Buffer.concat(parts)} ${JSON.stringify(req.trailers)}`);
        res.addTrailers({ 'X-Sum': '7' });
        res.end();
      });
    });
    const p = pool();
    const fixed = await run(p, target, { method: 'POST', bodyLength: 6 }, new ArrayBody(['abc', 'def']));
    expect(fixed.body).toBe('POST 6 abcdef {}');
    expect(fixed.trailers).toEqual(['X-Sum', '7']);
    const chunked = await run(
      p,
      target,
      { method: 'PUT', bodyLength: -1 },
      new ArrayBody(['wiki', 'pedia'], ['X-T', 'v']),
    );
    expect(chunked.body).toBe('PUT chunked wikipedia {"x-t":"v"}');
  });

  it('reads no body for HEAD and pools the connection; 204 and 304 too', async () => {
    const target = await httpBackend('127.0.60.4', (req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { ETag: 'x' }).end();
      else
        res.writeHead(200, { 'Content-Length': '10' }).end(req.method === 'HEAD' ? undefined : '0123456789');
    });
    const p = pool();
    const head = await run(p, target, { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '', error: null });
    expect(head.headers).toContain('10');
    expect((await run(p, target, { path: '/204' })).status).toBe(204);
    expect((await run(p, target, { path: '/304' })).status).toBe(304);
    const get = await run(p, target, {});
    expect(get.body).toBe('0123456789');
    expect(get.controller.reused).toBe(true);
    expect(p.idleCount(target)).toBe(1);
  });

  it('does not pool a Connection: close response, nor an HTTP/1.0 one, and reads a close-delimited body', async () => {
    const { target } = await rawBackend('127.0.60.5', (socket, text) => {
      if (!text.endsWith('\r\n\r\n')) return;
      if (text.includes('/close'))
        socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else socket.end('HTTP/1.0 200 OK\r\n\r\nuntil close');
    });
    const p = pool();
    const closed = await run(p, target, { path: '/close' });
    expect(closed.body).toBe('ok');
    expect(p.idleCount(target)).toBe(0);
    const old = await run(p, target, { path: '/old' });
    expect(old).toMatchObject({ status: 200, body: 'until close', error: null });
    expect(p.idleCount(target)).toBe(0);
  });

  it('reports connect for a refused connection and connect-timeout for one that never opens', async () => {
    const probe = net.createServer();
    const port = await listen(probe, '127.0.60.6');
    await closeServer(probe);
    const p = pool();
    const body = new ArrayBody(['x']);
    const refused = await run(p, { address: '127.0.60.6', port }, { method: 'POST', bodyLength: 1 }, body);
    expect(refused.error).toBe('connect');
    expect(body.started).toBe(false);
    const never = pool({ connectTimeoutMs: 50, connect: () => new net.Socket() });
    expect((await run(never, { address: '127.0.60.6', port }, {})).error).toBe('connect-timeout');
  });

  it('reports stale when a pooled connection was closed by the backend (idempotent), reset otherwise', async () => {
    const { target } = await rawBackend('127.0.60.7', (socket, text) => {
      const requests = text.split('\r\n\r\n').length - 1;
      if (requests === 1 && text.endsWith('\r\n\r\n'))
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1');
      else if (requests >= 2) socket.destroy();
    });
    const p = pool();
    expect((await run(p, target, {})).body).toBe('1');
    const stale = await run(p, target, {});
    expect(stale.controller.reused).toBe(true);
    expect(stale.error).toBe('stale');
    expect((await run(p, target, {}, null, true)).body).toBe('1');
    await waitFor(() => p.idleCount(target) === 1);
    const post = await run(p, target, { method: 'POST' });
    expect(post.controller.reused).toBe(true);
    expect(post.error).toBe('reset');
    await run(p, target, {}, null, true);
    await waitFor(() => p.idleCount(target) === 1);
    expect((await run(p, target, { idempotent: false })).error).toBe('reset');
  });

  it('reports reset when a fresh connection closes before the response, even for GET', async () => {
    const { target } = await rawBackend('127.0.60.8', (socket) => socket.destroy());
    const p = pool();
    expect((await run(p, target, { idempotent: true })).error).toBe('reset');
  });

  it('reports protocol for a response that is not HTTP, truncated for a body cut short, timeout for silence', async () => {
    const { target } = await rawBackend('127.0.60.9', (socket, text) => {
      if (!text.endsWith('\r\n\r\n')) return;
      if (text.includes('/garbage')) socket.write('SSH-2.0-OpenSSH\r\n\r\n');
      else if (text.includes('/two-lengths'))
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
      else if (text.includes('/cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234');
    });
    const p = pool({ readTimeoutMs: 60 });
    expect((await run(p, target, { path: '/garbage' })).error).toBe('protocol');
    expect((await run(p, target, { path: '/two-lengths' })).error).toBe('protocol');
    const cut = await run(p, target, { path: '/cut' });
    expect(cut).toMatchObject({ status: 200, error: 'truncated', body: '01234' });
    const started = Date.now();
    expect((await run(p, target, { path: '/silent' })).error).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('stops reading the backend while the handler is paused, then resumes', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 120);
    const target = await httpBackend('127.0.60.10', (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(big.length) });
      res.end(big);
    });
    const p = pool();
    const c = new Collector();
    c.pauseAfter = 1;
    const controller = p.dispatch(target, { method: 'GET', path: '/', headers: ['Host', 'b'] }, null, c);
    await waitFor(() => c.dataCalls >= 2);
    const calls = c.dataCalls;
    await new Promise((r) => setTimeout(r, 50));
    expect(c.dataCalls).toBe(calls);
    c.pauseAfter = -1;
    controller.resume();
    await c.done;
    expect(Buffer.concat(c.body).length).toBe(big.length);
  });

  it('hands a 101 over with the socket and the bytes past the head; never pools it', async () => {
    const server = http.createServer();
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nHELLO',
      );
      socket.pipe(socket);
    });
    servers.push(server);
    const target = { address: '127.0.60.11', port: await listen(server, '127.0.60.11') };
    const p = pool();
    const got = await new Promise<{ status: number; headers: string[]; head: string; socket: net.Socket }>(
      (resolve, reject) => {
        p.dispatch(
          target,
          {
            method: 'GET',
            path: '/ws',
            headers: ['Host', 'b', 'Connection', 'Upgrade', 'Upgrade', 'websocket'],
          },
          null,
          {
            onHead: () => reject(new Error('onHead')),
            onData: () => true,
            onEnd: () => reject(new Error('onEnd')),
            onError: (kind) => reject(new Error(kind)),
            onUpgrade: (status, headers, socket, head) =>
              resolve({ status, headers, head: head.toString(), socket }),
          },
        );
      },
    );
    expect(got.status).toBe(101);
    expect(got.headers).toContain('websocket');
    expect(got.head).toBe('HELLO');
    got.socket.write('echo');
    got.socket.resume();
    const [echo] = await once(got.socket, 'data');
    expect(String(echo)).toBe('echo');
    got.socket.destroy();
    expect(p.idleCount(target)).toBe(0);
  });

  it('abort() closes the connection without calling the handler again; close() empties the pool', async () => {
    const closed: Promise<unknown>[] = [];
    const target = await httpBackend('127.0.60.13', (req, res) => {
      closed.push(once(req.socket, 'close'));
      if (req.url === '/hang') res.write('partial');
      else res.end('x');
    });
    const p = pool();
    const c = new Collector();
    const controller = p.dispatch(target, { method: 'GET', path: '/hang', headers: ['Host', 'b'] }, null, c);
    await waitFor(() => c.dataCalls > 0);
    controller.abort();
    await closed[0];
    expect(c.error).toBe(null);
    expect(c.trailers).toBe(null);
    await run(p, target, {});
    expect(p.idleCount(target)).toBe(1);
    p.close();
    expect(p.idleCount(target)).toBe(0);
    await closed[1];
    const after = await run(p, target, {});
    expect(after.body).toBe('x');
    expect(p.idleCount(target)).toBe(0);
  });

  it('closes idle connections after idleTimeoutMs; an endpoint without connections leaves its table', async () => {
    const closed: Promise<unknown>[] = [];
    const target = await httpBackend('127.0.60.12', (req, res) => {
      closed.push(once(req.socket, 'close'));
      res.end('x');
    });
    const p = pool({ idleTimeoutMs: 50 });
    await run(p, target, {});
    await waitFor(() => p.idleCount(target) === 1);
    expect(p.endpointCount).toBe(1);
    await closed[0];
    await waitFor(() => p.endpointCount === 0);
    expect(p.idleCount(target)).toBe(0);
    // The same target connects again afterwards, and is pooled again.
    await run(p, target, {});
    await waitFor(() => p.idleCount(target) === 1);
    expect(p.endpointCount).toBe(1);
  });
});
