// A request whose body turns out malformed while it is being forwarded: a bad chunk size after good
// chunks, or a Content-Length body cut short by a client half-close. The backend must never see the
// request complete, the client gets 400 (or, once a response has started, a closed connection), exactly
// one record is reported, nothing stays in flight and other clients are unaffected.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backends,
  backend,
  config,
  type Gateway,
  request,
  startBackends,
  startGateway,
  until,
} from './harness.test-support.js';

interface Seen {
  url: string;
  body: string;
  /** 'data', 'end', 'error', 'close:complete' / 'close:incomplete', in order. */
  events: string[];
}

/** A client connection written to by hand. */
class Client {
  readonly socket: net.Socket;
  text = '';
  closed = false;
  private readonly waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits (event-driven, bounded) until `cond` holds or the connection closes. */
  async waitFor(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      if (cond()) return;
      if (this.closed) throw new Error(`connection closed waiting for ${what}; got: ${this.text}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    throw new Error(`no ${what}`);
  }

  async closedByPeer(): Promise<void> {
    if (!this.closed) await once(this.socket, 'close');
  }
}

function inflight(gw: Gateway): number {
  return (gw.plane as unknown as { inflight: number }).inflight;
}

describe('a request body that turns out malformed in flight', () => {
  let backends: Backends;
  let gw: Gateway;
  const seen: Seen[] = [];

  beforeAll(async () => {
    backends = await startBackends(['127.0.70.1'], (req, res) => {
      const entry: Seen = { url: req.url ?? '', body: '', events: [] };
      seen.push(entry);
      req.on('data', (c: Buffer) => {
        entry.body += c.toString();
        entry.events.push('data');
      });
      req.on('error', (e: NodeJS.ErrnoException) => entry.events.push(`error:${e.code ?? e.message}`));
      req.on('close', () => entry.events.push(req.complete ? 'close:complete' : 'close:incomplete'));
      req.on('end', () => {
        entry.events.push('end');
        if (!res.headersSent) res.end(`ok ${req.url}`);
        else res.end('-rest');
      });
      res.on('error', () => {});
      if (req.url?.startsWith('/started')) {
        // Answers before the body is read: the response is under way when the body goes bad.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
      }
    });
    gw = await startGateway(
      config([
        { host: '', path: '/', backend: backend('body', [{ address: '127.0.70.1', port: backends.port }]) },
      ]),
    );
  });
  afterAll(async () => {
    await gw?.close();
    await backends?.close();
  });

  const entry = (url: string): Seen | undefined => seen.find((s) => s.url === url);

  /** Everything settled: the backend request closed, the client connection closed, nothing in flight. */
  async function settled(url: string, c: Client): Promise<void> {
    await c.closedByPeer();
    await until(
      () => entry(url)?.events.some((e) => e.startsWith('close:')) ?? false,
      'backend request closed',
    );
    await until(() => inflight(gw) === 0, 'nothing in flight');
    await until(() => gw.connections.closed === gw.connections.open, 'client connections closed');
  }

  function recordsFor(path: string) {
    return gw.records.filter((r) => r.path === path);
  }

  function expectAborted(url: string, goodBody: string): void {
    const e = entry(url)!;
    expect(e.events).not.toContain('end');
    expect(e.events).not.toContain('close:complete');
    expect(e.events).toContain('close:incomplete');
    // The good part was forwarded (streamed), nothing past the bad framing.
    expect(e.body).toBe(goodBody);
  }

  it('bad chunk size after good chunks, nothing answered yet: 400, closed, one record, backend aborted', async () => {
    const c = new Client(gw.http);
    c.socket.write(
      'POST /bad-chunk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n',
    );
    await until(() => entry('/bad-chunk')?.body === 'hello world', 'the good chunks at the backend');
    c.socket.write('zz\r\nmore\r\n0\r\n\r\n');
    await settled('/bad-chunk', c);
    expect(c.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(c.text).toMatch(/\r\nServer: /i);
    expect(c.text).toMatch(/\r\nContent-Length: /i);
    expect(c.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expectAborted('/bad-chunk', 'hello world');
    const recs = recordsFor('/bad-chunk');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ status: 400, method: 'POST', upstream_addr: expect.any(String) });
    expect(recs[0]!.bytes_sent).toBe(Buffer.byteLength(c.text, 'latin1'));
    // No second, made-up record for the parser error.
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
  });

  it('bad chunk size in the same packet as the headers: 400, one record, never reaches the backend whole', async () => {
    const c = new Client(gw.http);
    c.socket.write(
      'POST /one-packet HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n',
    );
    await c.closedByPeer();
    await until(() => inflight(gw) === 0, 'nothing in flight');
    await until(() => gw.connections.closed === gw.connections.open, 'client connections closed');
    expect(c.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(c.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const e = entry('/one-packet');
    if (e !== undefined) {
      await until(() => e.events.some((x) => x.startsWith('close:')), 'backend request closed');
      expect(e.events).not.toContain('end');
    }
    const recs = recordsFor('/one-packet');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.status).toBe(400);
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
  });

  it('bad chunk size on a keep-alive connection after an answered request: only this request gets 400', async () => {
    const c = new Client(gw.http);
    c.socket.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.waitFor(() => c.text.endsWith('ok /first'), 'the first answer');
    const firstLength = c.text.length;
    c.socket.write('POST /bad-chunk-2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await until(() => entry('/bad-chunk-2')?.body === 'abc', 'the good chunk at the backend');
    c.socket.write('-1\r\n');
    await settled('/bad-chunk-2', c);
    expect(c.text.slice(firstLength)).toMatch(/^HTTP\/1\.1 400 /);
    expectAborted('/bad-chunk-2', 'abc');
    expect(recordsFor('/first')).toHaveLength(1);
    const recs = recordsFor('/bad-chunk-2');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.status).toBe(400);
    expect(recs[0]!.bytes_sent).toBe(c.text.length - firstLength);
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
  });

  it('bad chunk size once the response has started: the connection is destroyed, one record (200)', async () => {
    const c = new Client(gw.http);
    c.socket.write(
      'POST /started-chunk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n',
    );
    await c.waitFor(() => c.text.includes('partial'), 'the started response');
    await until(() => entry('/started-chunk')?.body === 'body', 'the good chunk at the backend');
    c.socket.write('xyz\r\n');
    await settled('/started-chunk', c);
    // Only the started response, never completed (no terminating chunk), nothing after it.
    expect(c.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(c.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(c.text).not.toContain('-rest');
    expect(c.text.endsWith('0\r\n\r\n')).toBe(false);
    expectAborted('/started-chunk', 'body');
    const recs = recordsFor('/started-chunk');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.status).toBe(200);
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
  });

  it('a Content-Length body cut short by a half-close: 400, closed, one record (499), backend aborted', async () => {
    const c = new Client(gw.http);
    c.socket.write('POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789');
    await until(() => entry('/short')?.body === '0123456789', 'the partial body at the backend');
    c.socket.end();
    await settled('/short', c);
    expect(c.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(c.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expectAborted('/short', '0123456789');
    const recs = recordsFor('/short');
    expect(recs).toHaveLength(1);
    // A FIN mid-body: a client that left and one that half-closed look alike; logged as 499 (as a
    // client that leaves mid-upload), though the 400 is sent for a client still reading.
    expect(recs[0]!.status).toBe(499);
    expect(recs[0]!.bytes_sent).toBe(Buffer.byteLength(c.text, 'latin1'));
    expect(recs[0]!.request_length).toBeLessThan(1000);
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
  });

  it('a half-close once the response has started: the connection is destroyed, one record (200)', async () => {
    const c = new Client(gw.http);
    c.socket.write('POST /started-short HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc');
    await c.waitFor(() => c.text.includes('partial'), 'the started response');
    await until(() => entry('/started-short')?.body === 'abc', 'the partial body at the backend');
    c.socket.end();
    await settled('/started-short', c);
    expect(c.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(c.text).not.toContain('-rest');
    expectAborted('/started-short', 'abc');
    const recs = recordsFor('/started-short');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.status).toBe(200);
  });

  it('harms no keep-alive neighbour, and close() then resolves at once', async () => {
    const neighbour = new Client(gw.http);
    neighbour.socket.write('GET /n1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await neighbour.waitFor(() => neighbour.text.endsWith('ok /n1'), 'the first neighbour answer');
    // Two bad bodies in flight at once, while the neighbour's connection stays open.
    const bad = new Client(gw.http);
    bad.socket.write('POST /bad-n HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n');
    const short = new Client(gw.http);
    short.socket.write('PUT /short-n HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\nabc');
    await until(
      () => entry('/bad-n')?.body === 'hi' && entry('/short-n')?.body === 'abc',
      'both partial bodies at the backend',
    );
    bad.socket.write('g\r\n');
    short.socket.end();
    await Promise.all([bad.closedByPeer(), short.closedByPeer()]);
    expect(bad.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(short.text).toMatch(/^HTTP\/1\.1 400 /);
    neighbour.socket.write('GET /n2 HTTP/1.1\r\nHost: a\r\n\r\n');
    await neighbour.waitFor(() => neighbour.text.endsWith('ok /n2'), 'the second neighbour answer');
    expect(neighbour.closed).toBe(false);
    expect((await request(gw.http, { method: 'POST', path: '/after', body: 'x' })).body).toBe('ok /after');
    neighbour.socket.destroy();
    await until(() => inflight(gw) === 0, 'nothing in flight');
    expect(recordsFor('/bad-n').map((r) => r.status)).toEqual([400]);
    expect(recordsFor('/short-n').map((r) => r.status)).toEqual([499]);
    expect(gw.records.filter((r) => r.path === '' && r.method === '')).toHaveLength(0);
    const outcome = await Promise.race([
      gw.plane.close(60_000).then(() => 'closed'),
      new Promise((r) => setTimeout(r, 5_000, 'still waiting')),
    ]);
    expect(outcome).toBe('closed');
  });
});
