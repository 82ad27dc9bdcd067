// Edge cases a proxy is judged by: bodiless statuses on keep-alive, pipelining, client aborts,
// backpressure, the send timeout, h2c upgrades, exact targets, request_length, repeated headers.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backend,
  config,
  defer,
  type Gateway,
  trackedGateway as gateway,
  portOf,
  request,
  runDeferred,
  startBackends,
  startRawBackend,
  until,
} from './harness.test-support.js';

afterEach(runDeferred);

async function backends(ip: string, handler: Parameters<typeof startBackends>[1]) {
  const b = await startBackends([ip], handler);
  defer(() => b.close());
  return b;
}

function oneRoute(ip: string, port: number) {
  return config([{ host: '', path: '/', backend: backend('edge', [{ address: ip, port }]) }]);
}

/** Requests the gateway is busy with (the count `close()` waits for). */
function inflight(gw: Gateway): number {
  return (gw.plane as unknown as { inflight: number }).inflight;
}

interface Parsed {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function header(p: Parsed, name: string): string | undefined {
  return p.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/**
 * Parses one response from the front of `buf`; undefined while incomplete. Handles Content-Length,
 * chunked, and bodiless responses (1xx are skipped, 204, 304, HEAD).
 */
function parseResponse(buf: Buffer, head: boolean): { res: Parsed; used: number } | undefined {
  let offset = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', offset);
    if (end < 0) return undefined;
    const lines = buf.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
    let pos = end + 4;
    if (status >= 100 && status < 200) {
      offset = pos;
      continue;
    }
    const res: Parsed = { status, headers, body: Buffer.alloc(0) };
    if (head || status === 204 || status === 304) return { res, used: pos };
    const te = header(res, 'transfer-encoding');
    if (te !== undefined) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', pos);
        if (lineEnd < 0) return undefined;
        const size = Number.parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0 && buf.indexOf('\r\n', lineEnd + 2) !== lineEnd + 2) return undefined;
          res.body = Buffer.concat(parts);
          return { res, used: trailerEnd < 0 ? lineEnd + 4 : trailerEnd + 4 };
        }
        if (buf.length < lineEnd + 2 + size + 2) return undefined;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
      }
    }
    const cl = Number(header(res, 'content-length') ?? '0');
    if (buf.length < pos + cl) return undefined;
    res.body = Buffer.from(buf.subarray(pos, pos + cl));
    return { res, used: pos + cl };
  }
}

/** One client connection written to by hand; responses are read one by one, in order. */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  received = 0;
  closed = false;
  private readonly waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => {
      this.received += d.length;
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    defer(() => {
      this.socket.destroy();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next complete response; rejects if the connection closes first. */
  async next(head = false): Promise<Parsed> {
    for (let i = 0; i < 100_000; i++) {
      const r = parseResponse(this.buf, head);
      if (r !== undefined) {
        this.buf = this.buf.subarray(r.used);
        return r.res;
      }
      if (this.closed) throw new Error(`connection closed; pending: ${this.buf.toString('latin1')}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    throw new Error('no response');
  }

  /** Bytes received but not parsed. */
  get pending(): number {
    return this.buf.length;
  }

  async closedByPeer(): Promise<void> {
    if (!this.closed) await once(this.socket, 'close');
  }
}

describe('bodiless statuses on a keep-alive connection', () => {
  it('passes 304 (with ETag) and 204 through with no body; the connection stays usable', async () => {
    const b = await backends('127.0.50.1', (req, res) => {
      if (req.url === '/etag') {
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
          res.end();
        } else {
          res.writeHead(200, { etag: '"v1"', 'content-length': '5' });
          res.end('fresh');
        }
        return;
      }
      if (req.url === '/204') {
        res.writeHead(204, { 'x-kind': 'none' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': String(Buffer.byteLength(req.url ?? '')) });
      res.end(req.url);
    });
    let upstreamConnections = 0;
    b.servers[0]!.on('connection', () => upstreamConnections++);
    const gw = await gateway(oneRoute('127.0.50.1', b.port));
    const c = new RawClient(gw.http);
    c.write('GET /etag HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n');
    const notModified = await c.next();
    expect(notModified.status).toBe(304);
    expect(header(notModified, 'etag')).toBe('"v1"');
    expect(header(notModified, 'transfer-encoding')).toBeUndefined();
    expect(notModified.body.length).toBe(0);
    c.write('GET /204 HTTP/1.1\r\nHost: a\r\n\r\n');
    const noContent = await c.next();
    expect(noContent.status).toBe(204);
    expect(header(noContent, 'x-kind')).toBe('none');
    expect(header(noContent, 'transfer-encoding')).toBeUndefined();
    expect(header(noContent, 'content-length')).toBeUndefined();
    c.write('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    const after = await c.next();
    expect(after.status).toBe(200);
    expect(after.body.toString()).toBe('/after');
    expect(c.pending).toBe(0);
    expect(c.closed).toBe(false);
    expect(upstreamConnections).toBe(1);
  });

  it('keeps both connections in step when a 304 or a HEAD answer carries the Content-Length of the full body', async () => {
    // Raw backend: a 304 and a HEAD answer announce 1234 bytes they do not send; the next answer on
    // the same upstream connection must still be read right.
    const s = await startRawBackend('127.0.50.2', (socket) => {
      let buf = '';
      socket.on('error', () => {});
      socket.on('data', (d) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          if (head.startsWith('HEAD ') || head.includes('/304 ')) {
            const status = head.startsWith('HEAD ') ? '200 OK' : '304 Not Modified';
            socket.write(`HTTP/1.1 ${status}\r\nETag: "x"\r\nContent-Length: 1234\r\n\r\n`);
          } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
        }
      });
    });
    defer(() => {
      s.close();
    });
    const gw = await gateway(oneRoute('127.0.50.2', portOf(s)));
    const c = new RawClient(gw.http);
    c.write('GET /304 HTTP/1.1\r\nHost: a\r\n\r\n');
    const r304 = await c.next();
    expect(r304.status).toBe(304);
    c.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    expect((await c.next()).body.toString()).toBe('next');
    c.write('HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n');
    const head = await c.next(true);
    expect(head.status).toBe(200);
    expect(header(head, 'content-length')).toBe('1234');
    c.write('GET /y HTTP/1.1\r\nHost: a\r\n\r\n');
    expect((await c.next()).body.toString()).toBe('next');
    expect(c.pending).toBe(0);
  });
});

describe('pipelining', () => {
  it('answers two and three requests sent in one write in order, complete and correct', async () => {
    const b = await backends('127.0.50.3', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const out = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
        if (req.url === '/chunked') {
          res.write(out.slice(0, 3));
          res.end(out.slice(3));
          return;
        }
        res.writeHead(200, { 'content-length': String(Buffer.byteLength(out)) });
        res.end(out);
      });
    });
    const gw = await gateway(oneRoute('127.0.50.3', b.port));
    const c = new RawClient(gw.http);
    c.write('GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n');
    expect((await c.next()).body.toString()).toBe('GET /one ');
    expect((await c.next()).body.toString()).toBe('GET /two ');
    c.write(
      'POST /three HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n' +
        'PUT /five HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    expect((await c.next()).body.toString()).toBe('POST /three hello');
    expect((await c.next()).body.toString()).toBe('GET /chunked ');
    expect((await c.next()).body.toString()).toBe('PUT /five abc');
    expect(c.pending).toBe(0);
    await until(() => gw.records.length === 5, 'records');
    expect(gw.records.map((r) => r.path)).toEqual(['/one', '/two', '/three', '/chunked', '/five']);
    // Each response's bytes are counted once, for its own request.
    expect(gw.records.reduce((n, r) => n + r.bytes_sent, 0)).toBe(c.received);
  });

  it('keeps the order when the first response is slow and the second fast', async () => {
    const held: http.ServerResponse[] = [];
    const fastDone: string[] = [];
    const b = await backends('127.0.50.4', (req, res) => {
      if (req.url === '/slow') {
        held.push(res);
        return;
      }
      res.on('finish', () => fastDone.push(req.url ?? ''));
      res.writeHead(200, { 'content-length': String(Buffer.byteLength(req.url ?? '')) });
      res.end(req.url);
    });
    const gw = await gateway(oneRoute('127.0.50.4', b.port));
    const c = new RawClient(gw.http);
    c.write(
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast1 HTTP/1.1\r\nHost: a\r\n\r\nGET /fast2 HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await until(() => held.length === 1 && fastDone.length === 2, 'fast answers done before the slow one');
    expect(c.received).toBe(0);
    held[0]!.writeHead(200, { 'content-type': 'text/plain' });
    held[0]!.write('slow ');
    held[0]!.end('body');
    const first = await c.next();
    expect(first.body.toString()).toBe('slow body');
    expect((await c.next()).body.toString()).toBe('/fast1');
    expect((await c.next()).body.toString()).toBe('/fast2');
    expect(c.pending).toBe(0);
    await until(() => gw.records.length === 3, 'records');
    expect(gw.records.reduce((n, r) => n + r.bytes_sent, 0)).toBe(c.received);
  });
});

describe('client aborts', () => {
  it('aborts the upstream request when the client leaves mid-upload; 499, nothing leaks', async () => {
    let upstreamBytes = 0;
    const backendSaw: string[] = [];
    const b = await backends('127.0.50.5', (req, res) => {
      req.on('data', (d: Buffer) => (upstreamBytes += d.length));
      req.on('error', (e: NodeJS.ErrnoException) => backendSaw.push(`error:${e.code ?? e.message}`));
      req.on('close', () => backendSaw.push(req.complete ? 'close:complete' : 'close:incomplete'));
      req.on('end', () => res.end('done'));
    });
    const gw = await gateway(oneRoute('127.0.50.5', b.port));
    const c = new RawClient(gw.http);
    c.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
    c.write(Buffer.alloc(64 * 1024, 1));
    await until(() => upstreamBytes >= 64 * 1024, 'the partial body at the backend');
    c.socket.destroy();
    await until(() => backendSaw.includes('close:incomplete'), 'the backend request aborted');
    await until(() => gw.records.length === 1, 'record');
    expect(gw.records[0]).toMatchObject({ status: 499, path: '/upload', upstream_addr: expect.any(String) });
    // request_length counts what was received, not what Content-Length announced.
    expect(gw.records[0]!.request_length).toBeGreaterThanOrEqual(64 * 1024);
    expect(gw.records[0]!.request_length).toBeLessThan(1024 * 1024);
    await until(() => inflight(gw) === 0, 'no request in flight');
    // close() waits for requests in flight: with none it resolves at once, not after its timeout.
    const outcome = await Promise.race([
      gw.plane.close(60_000).then(() => 'closed'),
      new Promise((r) => setTimeout(r, 5_000, 'still waiting')),
    ]);
    expect(outcome).toBe('closed');
  });

  it('destroys the upstream connection (never pools it) when the client leaves mid-response', async () => {
    const streams: http.ServerResponse[] = [];
    const upstreamClosed: boolean[] = [];
    let connections = 0;
    const b = await backends('127.0.50.6', (req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(1000));
        streams.push(res);
        return;
      }
      res.end('ok');
    });
    b.servers[0]!.on('connection', (s: net.Socket) => {
      connections++;
      s.on('close', () => upstreamClosed.push(true));
    });
    const gw = await gateway(oneRoute('127.0.50.6', b.port));
    const c = new RawClient(gw.http);
    c.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => c.received > 1000, 'first body bytes');
    c.socket.destroy();
    await until(() => upstreamClosed.length === 1, 'the upstream connection closed');
    expect(streams[0]!.destroyed).toBe(true);
    await until(() => gw.records.length === 1 && inflight(gw) === 0, 'record');
    expect(gw.records[0]!.status).toBe(200);
    expect((await request(gw.http)).body).toBe('ok');
    expect(connections).toBe(2);
  });
});

describe('backpressure', () => {
  it('slows a fast backend down to a slow client without buffering the body', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff;
    const state = { sent: 0, drains: 0, waiting: false, finished: false, blocked: 0, maxQueued: 0 };
    const expected = createHash('sha256');
    const b = await backends('127.0.50.7', (_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const pump = (): void => {
        state.waiting = false;
        while (state.sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - state.sent));
          expected.update(piece);
          state.sent += piece.length;
          if (!res.write(piece)) {
            state.blocked++;
            state.maxQueued = Math.max(state.maxQueued, res.writableLength);
            state.waiting = true;
            res.once('drain', () => {
              state.drains++;
              pump();
            });
            return;
          }
        }
        res.end();
        state.finished = true;
      };
      pump();
    });
    const gw = await gateway(oneRoute('127.0.50.7', b.port));
    const got = createHash('sha256');
    let received = 0;
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: gw.http, path: '/big', headers: { host: 'a' } }, resolve)
        .on('error', reject);
    });
    const res = await response;
    res.pause();
    // The client reads nothing: the backend must end up waiting for 'drain' with most of the body
    // unsent. Detected as no drain for 50 turns of the event loop (bounded); a gateway that buffered
    // the body would let the backend finish instead.
    let quiet = 0;
    let lastDrains = -1;
    for (let i = 0; i < 5000 && quiet < 50 && !state.finished; i++) {
      if (state.waiting && state.drains === lastDrains) quiet++;
      else quiet = 0;
      lastDrains = state.drains;
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(state.finished).toBe(false);
    expect(state.waiting).toBe(true);
    expect(state.blocked).toBeGreaterThan(0);
    expect(state.maxQueued).toBeGreaterThanOrEqual(chunk.length);
    expect(state.sent).toBeLessThan(total);
    // Read a little, then everything.
    const first = res.read(1024) as Buffer | null;
    if (first !== null) {
      received += first.length;
      got.update(first);
    }
    res.on('data', (d: Buffer) => {
      received += d.length;
      got.update(d);
    });
    res.resume();
    await once(res, 'end');
    expect(received).toBe(total);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  });
});

describe('send timeout', () => {
  it('gives up on a client that stalls mid-body: upstream aborted, connection closed, 408 logged', async () => {
    const backendSaw: string[] = [];
    const b = await backends('127.0.50.8', (req, res) => {
      req.on('data', () => backendSaw.push('data'));
      req.on('error', () => {});
      req.on('close', () => backendSaw.push(req.complete ? 'close:complete' : 'close:incomplete'));
      req.on('end', () => res.end('done'));
    });
    const gw = await gateway(oneRoute('127.0.50.8', b.port), { sendTimeoutMs: 150 });
    const c = new RawClient(gw.http);
    c.write('POST /stall HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789');
    await until(() => backendSaw.includes('data'), 'partial body at the backend');
    await c.closedByPeer();
    // As nginx's client_body_timeout: nothing is answered, the connection is closed, 408 is logged.
    expect(c.received).toBe(0);
    await until(() => backendSaw.includes('close:incomplete'), 'the backend request aborted');
    await until(() => gw.records.length === 1, 'record');
    expect(gw.records[0]!.status).toBe(408);
    await until(() => inflight(gw) === 0, 'no request in flight');
  });

  it('answers 504 when the backend stops reading the body (proxy_send_timeout)', async () => {
    let upstreamClosed = false;
    const upstreamSockets: net.Socket[] = [];
    const s = net.createServer({ pauseOnConnect: true }, (socket) => {
      upstreamSockets.push(socket);
      socket.on('error', () => {});
      socket.on('close', () => (upstreamClosed = true));
    });
    s.listen(0, '127.0.50.9');
    await once(s, 'listening');
    defer(() => {
      s.close();
    });
    const gw = await gateway(oneRoute('127.0.50.9', portOf(s)), { sendTimeoutMs: 150 });
    const total = 64 * 1024 * 1024;
    const c = new RawClient(gw.http);
    c.write(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
    const answered = c.next();
    let done = false;
    answered.then(
      () => (done = true),
      () => (done = true),
    );
    const piece = Buffer.alloc(256 * 1024, 0x61);
    for (let sent = 0; sent < total && !done && !c.closed; sent += piece.length) {
      if (!c.socket.write(piece)) await Promise.race([once(c.socket, 'drain'), answered.catch(() => {})]);
    }
    const r = await answered;
    expect(r.status).toBe(504);
    // The backend reads what was queued for it, then finds the connection closed.
    for (const socket of upstreamSockets) socket.resume();
    await until(() => upstreamClosed, 'the upstream connection closed');
    await until(() => gw.records.length === 1, 'record');
    expect(gw.records[0]).toMatchObject({ status: 504, upstream_status: '504' });
  });
});

describe('request headers and targets', () => {
  it('removes Upgrade: h2c and HTTP2-Settings and proxies plain HTTP/1.1', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const bodies: string[] = [];
    const b = await backends('127.0.50.10', (req, res) => {
      seen.push(req.headers);
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
    });
    const gw = await gateway(oneRoute('127.0.50.10', b.port));
    const c = new RawClient(gw.http);
    c.write(
      'GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    const r = await c.next();
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('ok');
    expect(header(r, 'upgrade')).toBeUndefined();
    c.write(
      'POST /h2c-body HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 4\r\n\r\nbody',
    );
    expect((await c.next()).status).toBe(200);
    c.write('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    expect((await c.next()).status).toBe(200);
    expect(seen).toHaveLength(3);
    for (const h of seen.slice(0, 2)) {
      expect(h.upgrade).toBeUndefined();
      expect(h['http2-settings']).toBeUndefined();
      expect(String(h.connection ?? '').toLowerCase()).not.toContain('upgrade');
    }
    expect(bodies[1]).toBe('body');
  });

  it('forwards a target with a bare trailing ? exactly as sent', async () => {
    const urls: string[] = [];
    const b = await backends('127.0.50.11', (req, res) => {
      urls.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const gw = await gateway(oneRoute('127.0.50.11', b.port));
    const targets = ['/a?', '/?', '/a/?', '/a??', '/a?b=1&', '/a?&'];
    for (const path of targets) expect((await request(gw.http, { path })).status).toBe(200);
    // The same with Expect: 100-continue (the upstream request head is rendered early then).
    await request(gw.http, { path: '/e?', method: 'POST', headers: { expect: '100-continue' }, body: 'x' });
    expect(urls).toEqual([...targets, '/e?']);
    await until(() => gw.records.length === targets.length + 1, 'records');
    expect(gw.records[0]!.path).toBe('/a?');
  });

  it('counts a chunked request body in request_length, as it counts a Content-Length one', async () => {
    const b = await backends('127.0.50.12', (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const gw = await gateway(oneRoute('127.0.50.12', b.port));
    const c = new RawClient(gw.http);
    const bare = 'POST /len HTTP/1.1\r\nHost: a\r\n';
    c.write(`${bare}Content-Length: 0\r\n\r\n`);
    await c.next();
    const body = 'x'.repeat(3000);
    const chunked = `${bare}Transfer-Encoding: chunked\r\n\r\nbb8\r\n${body}\r\n0\r\n\r\n`;
    c.write(chunked);
    await c.next();
    const sized = `${bare}Content-Length: 3000\r\n\r\n${body}`;
    c.write(sized);
    await c.next();
    await until(() => gw.records.length === 3, 'records');
    const [empty, ch, cl] = gw.records.map((r) => r.request_length) as [number, number, number];
    expect(cl - empty).toBe(3000 + 3); // the body, and `3000` is 3 characters longer than `0`
    // The body's bytes count; its chunk framing (12 bytes here, counted by nginx) is not seen by us.
    const headerDiff = 'Transfer-Encoding: chunked'.length - 'Content-Length: 3000'.length;
    expect(ch - cl - headerDiff).toBe(0);
  });
});

describe('repeated response headers', () => {
  it('keeps two Set-Cookie headers apart and multi-value Vary and Cache-Control whole', async () => {
    const s = await startRawBackend('127.0.50.13', (socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        const body = 'ok';
        socket.write(
          'HTTP/1.1 200 OK\r\n' +
            'Set-Cookie: a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/\r\n' +
            'Set-Cookie: b=2; HttpOnly\r\n' +
            'Vary: Accept-Encoding\r\n' +
            'Vary: Origin, Accept\r\n' +
            'Cache-Control: no-cache, no-store, must-revalidate\r\n' +
            `Content-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
    });
    defer(() => {
      s.close();
    });
    const gw = await gateway(oneRoute('127.0.50.13', portOf(s)));
    const r = await request(gw.http);
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual([
      'a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/',
      'b=2; HttpOnly',
    ]);
    const pairs: [string, string][] = [];
    for (let i = 0; i < r.rawHeaders.length; i += 2) pairs.push([r.rawHeaders[i]!, r.rawHeaders[i + 1]!]);
    expect(pairs.filter(([n]) => n.toLowerCase() === 'set-cookie')).toHaveLength(2);
    expect(pairs.filter(([n]) => n.toLowerCase() === 'vary').map(([, v]) => v)).toEqual([
      'Accept-Encoding',
      'Origin, Accept',
    ]);
    expect(r.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
  });
});
