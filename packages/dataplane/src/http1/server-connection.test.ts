import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificate } from '../harness.test-support.js';
import { ConnectionClock } from './clock.js';
import {
  type Exchange,
  ServerConnection,
  type ServerConnectionHandler,
  type ServerConnectionOptions,
} from './server-connection.js';
import { closeServer, listen, RawClient, waitFor } from './testing.test-support.js';

const clock = new ConnectionClock(10);
const servers: net.Server[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await closeServer(s);
});

interface Harness {
  port: number;
  seen: Exchange[];
  errors: number[];
  connections: ServerConnection[];
  client(): Promise<RawClient>;
}

async function serve(
  onRequest: (ex: Exchange) => void,
  options: ServerConnectionOptions = {},
  host = '127.0.0.1',
): Promise<Harness> {
  const seen: Exchange[] = [];
  const errors: number[] = [];
  const connections: ServerConnection[] = [];
  const handler: ServerConnectionHandler = {
    onRequest(ex) {
      seen.push(ex);
      onRequest(ex);
    },
    onClientError(_c, status) {
      errors.push(status);
    },
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections.push(new ServerConnection(socket, handler, { clock, ...options }));
  });
  servers.push(server);
  const port = await listen(server, host);
  return {
    port,
    seen,
    errors,
    connections,
    async client() {
      const c = new RawClient(port, host);
      clients.push(c);
      await c.connected();
      return c;
    },
  };
}

function ok(ex: Exchange, body = `hello ${ex.url}`): void {
  ex.writeHead(200, ['Content-Type', 'text/plain'], Buffer.byteLength(body));
  ex.write(body);
  ex.end();
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

describe('http1/server-connection: requests, keep-alive, pipelining', () => {
  it('answers requests in order on one keep-alive connection, framed by Content-Length', async () => {
    const h = await serve((ex) => ok(ex));
    const c = await h.client();
    c.send(GET('/one'));
    await c.until((t) => t.includes('hello /one'));
    c.send(GET('/two', 'X-Big: 1\r\n'));
    await c.until((t) => t.includes('hello /two'));
    expect(c.text).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello /one' +
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello /two',
    );
    expect(h.seen.map((e) => [e.method, e.url, e.httpVersion, e.shouldKeepAlive])).toEqual([
      ['GET', '/one', '1.1', true],
      ['GET', '/two', '1.1', true],
    ]);
    expect(h.seen[1]!.rawHeaders).toEqual(['Host', 'a', 'X-Big', '1']);
    expect(c.closed).toBe(false);
  });

  it('keeps pipelined responses in order even when a later one is ready first', async () => {
    const pending: Exchange[] = [];
    const h = await serve((ex) => {
      if (ex.url === '/slow') pending.push(ex);
      else ok(ex);
    });
    const c = await h.client();
    c.send(GET('/slow') + GET('/fast1') + GET('/fast2'));
    await waitFor(() => h.seen.length === 3);
    expect(c.text).toBe('');
    ok(pending[0]!);
    await c.until((t) => t.includes('hello /fast2'));
    const order = ['/slow', '/fast1', '/fast2'].map((p) => c.text.indexOf(`hello ${p}`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('hands at most maxPipelineDepth requests to the handler at once', async () => {
    const pending: Exchange[] = [];
    const h = await serve((ex) => pending.push(ex), { maxPipelineDepth: 2 });
    const c = await h.client();
    c.send(GET('/1') + GET('/2') + GET('/3') + GET('/4'));
    await waitFor(() => h.seen.length === 2);
    expect(h.seen.map((e) => e.url)).toEqual(['/1', '/2']);
    ok(pending[1]!);
    expect(h.seen.length).toBe(2);
    ok(pending[0]!);
    expect(h.seen.map((e) => e.url)).toEqual(['/1', '/2', '/3', '/4']);
    ok(pending[2]!);
    ok(pending[3]!);
    await c.until((t) => t.includes('hello /4'));
    expect(c.count('HTTP/1.1 200')).toBe(4);
  });

  it('processes nothing pipelined after Connection: close (RFC 9112 §9.6)', async () => {
    const h = await serve((ex) => ok(ex));
    const c = await h.client();
    c.send(GET('/last', 'Connection: close\r\n') + GET('/never'));
    const text = await c.ended();
    expect(text).toContain('Connection: close\r\n');
    expect(text).toContain('hello /last');
    expect(text).not.toContain('/never');
    expect(h.seen.map((e) => e.url)).toEqual(['/last']);
    expect(h.errors).toEqual([]);
  });

  it('closes after maxRequestsPerConnection requests, announcing it', async () => {
    const h = await serve((ex) => ok(ex), { maxRequestsPerConnection: 2 });
    const c = await h.client();
    c.send(GET('/1') + GET('/2') + GET('/3'));
    const text = await c.ended();
    expect(c.count('HTTP/1.1 200')).toBe(2);
    expect(text.indexOf('Connection: close')).toBeGreaterThan(text.indexOf('hello /1'));
    expect(h.seen.map((e) => e.url)).toEqual(['/1', '/2']);
  });

  it('follows HTTP/1.0 keep-alive rules', async () => {
    const h = await serve((ex) => {
      if (ex.url === '/stream') {
        ex.writeHead(200, [], -1);
        ex.write('abc');
        ex.end();
      } else ok(ex);
    });
    const plain = await h.client();
    plain.send('GET /a HTTP/1.0\r\n\r\n');
    expect(await plain.ended()).toContain('Connection: close\r\n');
    const ka = await h.client();
    ka.send('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await ka.until((t) => t.includes('hello /b'));
    expect(ka.text).toContain('Connection: keep-alive\r\n');
    ka.send('GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const text = await ka.ended();
    const second = text.slice(text.indexOf('hello /b'));
    expect(second).not.toContain('Transfer-Encoding');
    expect(second).toContain('Connection: close\r\n\r\nabc');
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs', async () => {
    const h = await serve((ex) => ok(ex), { keepAliveTimeoutMs: 60 });
    const c = await h.client();
    c.send(GET('/x'));
    await c.until((t) => t.includes('hello /x'));
    const started = Date.now();
    await c.ended();
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('answers 408 when a head does not arrive within headersTimeoutMs (slowloris), silent when nothing came', async () => {
    const h = await serve((ex) => ok(ex), { headersTimeoutMs: 80 });
    const slow = await h.client();
    slow.send('GET /slow HTTP/1.1\r\nHost: a\r\n');
    const timer = setInterval(() => slow.send('X-Drip: 1\r\n'), 10);
    const text = await slow.ended();
    clearInterval(timer);
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(h.errors).toEqual([408]);
    expect(h.seen).toEqual([]);
    const silent = await h.client();
    expect(await silent.ended()).toBe('');
  });

  it('times the head of a keep-alive request, not the idle time before it', async () => {
    const h = await serve((ex) => ok(ex), { headersTimeoutMs: 100, keepAliveTimeoutMs: 5000 });
    const c = await h.client();
    c.send(GET('/1'));
    await c.until((t) => t.includes('hello /1'));
    await new Promise((r) => setTimeout(r, 150));
    c.send(GET('/2'));
    await c.until((t) => t.includes('hello /2'));
    expect(c.closed).toBe(false);
  });
});

describe('http1/server-connection: malformed requests', () => {
  it('answers 431 past the header size limit and closes', async () => {
    const h = await serve((ex) => ok(ex), { maxHeaderSize: 1024 });
    const c = await h.client();
    c.send(GET('/big', `X-Big: ${'x'.repeat(2000)}\r\n`));
    const text = await c.ended();
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(text).toContain('Connection: close');
    expect(h.seen).toEqual([]);
  });

  it('answers 431 past the header field count in its place in the pipeline, parses nothing after it, and closes', async () => {
    const h = await serve((ex) => ok(ex), { maxHeaderFields: 4 });
    const c = await h.client();
    // Host and 4 more: 5 fields. The body and the request behind it are never parsed.
    c.send(
      GET('/first') +
        'POST /many HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 3\r\n\r\nabc' +
        GET('/after'),
    );
    const text = await c.ended();
    expect(text.indexOf('hello /first')).toBeGreaterThan(0);
    expect(text.indexOf('431 Request Header Fields Too Large')).toBeGreaterThan(text.indexOf('hello /first'));
    expect(text).not.toContain('/after');
    expect(h.seen.map((e) => e.url)).toEqual(['/first']);
  });

  it('takes a head with exactly the allowed number of fields', async () => {
    const h = await serve((ex) => ok(ex), { maxHeaderFields: 4 });
    const c = await h.client();
    c.send(GET('/four', 'A: 1\r\nB: 2\r\nC: 3\r\n'));
    await c.until((t) => t.includes('hello /four'));
    expect(h.seen[0]!.rawHeaders).toEqual(['Host', 'a', 'A', '1', 'B', '2', 'C', '3']);
  });

  it.each([
    ['garbage', 'HELLO\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
    [
      'two Content-Lengths',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc',
    ],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n'],
    ['invalid Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'],
  ])('answers 400 and closes: %s', async (_name, raw) => {
    const h = await serve((ex) => ok(ex));
    const c = await h.client();
    c.send(raw);
    expect(await c.ended()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Connection: close/);
    expect(h.seen).toEqual([]);
    expect(h.errors).toEqual([400]);
  });

  it('still answers the good requests pipelined before a malformed one, in order', async () => {
    const h = await serve((ex) => setImmediate(() => ok(ex)));
    const c = await h.client();
    c.send(`${GET('/good')}BAD REQUEST\r\n\r\n`);
    const text = await c.ended();
    expect(text.indexOf('hello /good')).toBeGreaterThan(0);
    expect(text.indexOf('400 Bad Request')).toBeGreaterThan(text.indexOf('hello /good'));
  });

  it('aborts a request whose chunked body turns out malformed, answers 400, never passes the bad bytes', async () => {
    const aborts: string[] = [];
    const chunks: string[] = [];
    const h = await serve((ex) => {
      ex.listen({
        onBodyData: (_e, c) => chunks.push(c.toString()),
        onBodyEnd: () => chunks.push('END'),
        onAbort: (_e, why) => aborts.push(why),
      });
      ex.readBody();
    });
    const c = await h.client();
    c.send('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await waitFor(() => Boolean(chunks.length > 0));
    c.send('zz\r\nnope\r\n');
    expect(await c.ended()).toMatch(/^HTTP\/1\.1 400 /);
    expect(chunks).toEqual(['abc']);
    expect(aborts).toEqual(['malformed']);
  });
});

describe('http1/server-connection: bodies and framing', () => {
  it('answers 408 when a body being read stalls past bodyTimeoutMs, never while the handler pauses it', async () => {
    const aborts: string[] = [];
    const got: string[] = [];
    const h = await serve(
      (ex) => {
        ex.listen({
          onBodyData: (e, c) => {
            got.push(c.toString());
            if (e.url === '/paused' && got.length === 2) e.pauseBody();
          },
          onAbort: (_e, why) => aborts.push(why),
          onBodyEnd: (e) => ok(e, got.join('')),
        });
        ex.readBody();
      },
      { bodyTimeoutMs: 60 },
    );
    const slow = await h.client();
    slow.send('POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    expect(await slow.ended()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(aborts).toEqual(['timeout']);
    expect(h.errors).toEqual([408]);
    const paused = await h.client();
    paused.send('POST /paused HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc');
    await waitFor(() => got.includes('abc') && got.length === 2);
    await new Promise((r) => setTimeout(r, 120));
    expect(paused.closed).toBe(false);
    paused.send('def');
    h.seen[1]!.resumeBody();
    await paused.until((t) => t.endsWith('abcabcdef'));
  });

  it('de-chunks a chunked request body with trailers; frames an unknown-length response chunked with trailers', async () => {
    const got: string[] = [];
    let trailers: string[] = [];
    const h = await serve((ex) => {
      ex.listen({
        onBodyData: (_e, c) => got.push(c.toString()),
        onBodyEnd: (e, t) => {
          trailers = t;
          e.writeHead(200, ['X-A', 'b'], -1);
          e.write('part1');
          e.write(Buffer.from('part22'));
          e.end(['X-Checksum', '42']);
        },
      });
      ex.readBody();
    });
    const c = await h.client();
    c.send(
      'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n',
    );
    await c.until((t) => t.endsWith('\r\n\r\n') && t.includes('X-Checksum'));
    expect(got.join('')).toBe('wikipedia');
    expect(trailers).toEqual(['X-T', '1']);
    expect(c.text).toBe(
      'HTTP/1.1 200 OK\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n5\r\npart1\r\n6\r\npart22\r\n0\r\nX-Checksum: 42\r\n\r\n',
    );
  });

  it('sends no body for HEAD, 204 and 304 (HEAD and 304 keep Content-Length, 204 none)', async () => {
    const h = await serve((ex) => {
      const status = ex.url === '/204' ? 204 : ex.url === '/304' ? 304 : 200;
      ex.writeHead(status, ['X-S', String(status)], 5);
      ex.write('hello');
      ex.end();
    });
    const c = await h.client();
    c.send(`HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n${GET('/204')}${GET('/304')}${GET('/last')}`);
    await c.until((t) => t.endsWith('hello'));
    expect(c.text).toBe(
      'HTTP/1.1 200 OK\r\nX-S: 200\r\nContent-Length: 5\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\nX-S: 204\r\n\r\n' +
        'HTTP/1.1 304 Not Modified\r\nX-S: 304\r\nContent-Length: 5\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nX-S: 200\r\nContent-Length: 5\r\n\r\nhello',
    );
  });

  it('answers 100 Continue only when the handler starts reading the body', async () => {
    let exchange: Exchange | undefined;
    const got: string[] = [];
    const h = await serve((ex) => {
      exchange = ex;
      ex.listen({ onBodyData: (_e, c) => got.push(c.toString()), onBodyEnd: (e) => ok(e, got.join('')) });
    });
    const c = await h.client();
    c.send('PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    await waitFor(() => Boolean(exchange));
    expect(exchange!.expectContinue).toBe(true);
    expect(c.text).toBe('');
    exchange!.readBody();
    await c.until((t) => t === 'HTTP/1.1 100 Continue\r\n\r\n');
    c.send('data');
    await c.until((t) => t.endsWith('data'));
    expect(c.text).toContain('HTTP/1.1 200 OK');
  });

  it('closes instead of waiting when the response ends before a 100-continue body was asked for', async () => {
    const h = await serve((ex) => {
      ex.writeHead(404, [], 0);
      ex.end();
    });
    const c = await h.client();
    c.send('PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    const text = await c.ended();
    expect(text).not.toContain('100 Continue');
    expect(text).toContain('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  it('discards an unread request body after the response and keeps the connection', async () => {
    const h = await serve((ex) => ok(ex));
    const c = await h.client();
    c.send('POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234');
    await c.until((t) => t.includes('hello /a'));
    c.send(`56789${GET('/b')}`);
    await c.until((t) => t.includes('hello /b'));
    expect(h.seen.map((e) => e.url)).toEqual(['/a', '/b']);
  });
});

describe('http1/server-connection: backpressure and upgrades', () => {
  it('reports write() false when the client does not read, and onDrain once it does', async () => {
    let drained = 0;
    let wrote = 0;
    const chunk = Buffer.alloc(128 * 1024, 97);
    const h = await serve((ex) => {
      ex.writeHead(200, [], -1);
      const pump = () => {
        while (wrote < 64) {
          wrote++;
          if (!ex.write(chunk)) return;
        }
        ex.end();
      };
      ex.listen({
        onDrain: () => {
          drained++;
          pump();
        },
      });
      pump();
    });
    const c = await h.client();
    c.socket.pause();
    c.send(GET('/big'));
    await waitFor(() => Boolean(h.seen.length));
    await new Promise((r) => setTimeout(r, 50));
    expect(wrote).toBeLessThan(64);
    let tail = '';
    const done = new Promise<void>((resolve) => {
      c.socket.removeAllListeners('data');
      c.socket.on('data', (d: Buffer) => {
        tail = (tail + d.toString('latin1')).slice(-16);
        if (tail.endsWith('\r\n0\r\n\r\n')) resolve();
      });
    });
    c.socket.resume();
    await done;
    expect(wrote).toBe(64);
    expect(drained).toBeGreaterThan(0);
  });

  it('stops reading the socket while the request body is paused, and resumes', async () => {
    let exchange: Exchange | undefined;
    let received = 0;
    const h = await serve((ex) => {
      exchange = ex;
      ex.listen({
        onBodyData: (e, c) => {
          received += c.length;
          e.pauseBody();
        },
        onBodyEnd: (e) => ok(e, String(received)),
      });
      ex.readBody();
    });
    const c = await h.client();
    const size = 8 * 1024 * 1024;
    c.send(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\n\r\n`);
    let flushed = true;
    const body = Buffer.alloc(size, 98);
    flushed = c.socket.write(body);
    await waitFor(() => Boolean(received > 0));
    await new Promise((r) => setTimeout(r, 50));
    const server = h.connections[0]!;
    expect(server.socket.bytesRead).toBeLessThan(size);
    expect(flushed).toBe(false);
    while (!c.text.includes('hello') && !c.text.includes(String(size))) {
      exchange!.resumeBody();
      await new Promise((r) => setImmediate(r));
    }
    await c.until((t) => t.endsWith(String(size)));
    expect(received).toBe(size);
  });

  it('hands an accepted upgrade over with the socket and the bytes read past the head', async () => {
    let head = '';
    const h = await serve((ex) => {
      expect(ex.upgrade).toBe(true);
      ex.acceptUpgrade({
        onUpgradeSocket(_e, socket, rest) {
          head = rest.toString();
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
          socket.write(rest);
          socket.pipe(socket);
        },
      });
    });
    const c = await h.client();
    c.send('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nEARLY');
    await c.until((t) => t.endsWith('EARLY'));
    c.send('-more');
    await c.until((t) => t.endsWith('EARLY-more'));
    expect(head).toBe('EARLY');
    expect(c.text.startsWith('HTTP/1.1 101 ')).toBe(true);
  });

  it('keeps speaking HTTP when an upgrade request is answered normally', async () => {
    const h = await serve((ex) => ok(ex));
    const c = await h.client();
    c.send(`GET /h2c HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n${GET('/next')}`);
    await c.until((t) => t.includes('hello /next'));
    expect(h.seen.map((e) => [e.url, e.upgrade])).toEqual([
      ['/h2c', true],
      ['/next', false],
    ]);
  });

  it('tells the listener onAbort(client) when the client goes away before the response ended', async () => {
    const aborts: string[] = [];
    const h = await serve((ex) => ex.listen({ onAbort: (_e, why) => aborts.push(why) }));
    const c = await h.client();
    c.send(GET('/wait'));
    await waitFor(() => h.seen.length === 1);
    c.destroy();
    await waitFor(() => aborts.length === 1);
    expect(aborts).toEqual(['client']);
    expect(h.connections[0]!.isClosed).toBe(true);
  });

  it('works on other loopback addresses', async () => {
    const h = await serve((ex) => ok(ex), {}, '127.0.60.7');
    const c = await h.client();
    c.send(GET('/lo'));
    await c.until((t) => t.includes('hello /lo'));
    const [conn] = h.connections;
    expect(conn!.socket.localAddress).toBe('127.0.60.7');
    c.destroy();
    await once(conn!.socket, 'close');
    expect(conn!.isClosed).toBe(true);
  });
});

describe('http1/server-connection: TLS', () => {
  it('serves a TLS socket the same way (pipelined, chunked body)', async () => {
    const { key, cert } = testCertificate();
    const seen: string[] = [];
    const server = tls.createServer(
      {
        key,
        cert,
        allowHalfOpen: true,
      },
      (socket) =>
        new ServerConnection(
          socket,
          {
            onRequest(ex) {
              seen.push(ex.url);
              const parts: Buffer[] = [];
              ex.listen({
                onBodyData: (_e, c) => parts.push(c),
                onBodyEnd: (e) => ok(e, `${e.url}:${Buffer.concat(parts)}`),
              });
              ex.readBody();
            },
          },
          { clock },
        ),
    );
    servers.push(server);
    const port = await listen(server);
    const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    await once(client, 'secureConnect');
    let text = '';
    client.on('data', (d) => {
      text += d.toString('latin1');
    });
    client.write(
      `${GET('/a')}POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`,
    );
    await waitFor(() => text.includes('/b:hi'));
    expect(text.indexOf('/a:')).toBeLessThan(text.indexOf('/b:hi'));
    expect(seen).toEqual(['/a', '/b']);
    client.destroy();
  });
});

describe('http1/server-connection: reads parsed from the socket handle (consume)', () => {
  it('serves bytes the socket held before the connection took it, then what is read after, in order', async () => {
    const seen: string[] = [];
    const connections: ServerConnection[] = [];
    const handler: ServerConnectionHandler = {
      onRequest(ex) {
        seen.push(ex.url);
        ok(ex);
      },
    };
    let taken!: () => void;
    const tookOver = new Promise<void>((resolve) => {
      taken = resolve;
    });
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      // The socket reads into its own stream first (as a TLS socket may before 'secureConnection').
      socket.pause();
      const takeOver = () => {
        if (socket.readableLength === 0) return;
        socket.off('readable', takeOver);
        connections.push(new ServerConnection(socket, handler, { clock }));
        taken();
      };
      socket.on('readable', takeOver);
    });
    servers.push(server);
    const port = await listen(server);
    const c = new RawClient(port);
    clients.push(c);
    await c.connected();
    c.send(GET('/held'));
    await tookOver;
    await c.until((t) => t.includes('hello /held'));
    c.send(GET('/read'));
    await c.until((t) => t.includes('hello /read'));
    c.send(`${GET('/p1')}${GET('/p2')}`);
    await c.until((t) => t.includes('hello /p2'));
    expect(seen).toEqual(['/held', '/read', '/p1', '/p2']);
    expect(c.closed).toBe(false);
  });
});
