import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  backend,
  closedPort,
  config,
  defer,
  trackedGateway as gateway,
  portOf,
  raw,
  request,
  runDeferred,
  startBackends,
  startRawBackend,
  until,
} from './harness.test-support.js';

afterEach(runDeferred);

function echoBackends(ips: string[]) {
  return startBackends(ips, (req, res, ip) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = JSON.stringify({
        ip,
        body: Buffer.concat(chunks).toString(),
        remotePort: req.socket.remotePort,
      });
      res.writeHead(200, { 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
}

/** A raw backend that answers each connection with `reply(requestBytes)` once it has read a request head. */
async function rawBackend(ip: string, reply: (socket: net.Socket, head: string) => void) {
  const server = await startRawBackend(ip, (socket) => {
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.slice(0, end);
        buf = '';
        reply(socket, head);
      }
    });
  });
  defer(() => {
    server.close();
  });
  return server;
}

describe('upstream connections', () => {
  it('reuses keep-alive connections to an endpoint', async () => {
    const b = await echoBackends(['127.0.3.11']);
    defer(() => b.close());
    let connections = 0;
    b.servers[0]!.on('connection', () => connections++);
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.11', port: b.port }]) }]),
    );
    for (let i = 0; i < 5; i++) expect((await request(gw.http)).status).toBe(200);
    expect(connections).toBe(1);
  });

  it('retries a refused connection on another endpoint, body intact, for POST too', async () => {
    const b = await echoBackends(['127.0.3.13']);
    defer(() => b.close());
    // 127.0.3.12 has nothing on the same port: refused.
    const eps = [
      { address: '127.0.3.12', port: b.port },
      { address: '127.0.3.13', port: b.port },
    ];
    const gw = await gateway(config([{ host: '', path: '/', backend: backend('a', eps) }]));
    for (let i = 0; i < 4; i++) {
      const r = await request(gw.http, { method: 'POST', body: `payload-${i}` });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ ip: '127.0.3.13', body: `payload-${i}` });
    }
    await until(() => gw.records.length >= 4, 'records');
    expect(gw.records.some((r) => r.upstream_addr.includes(', '))).toBe(true);
    expect(gw.records.find((r) => r.upstream_addr.includes(', '))!.upstream_status).toBe('502, 200');
  });

  it('answers 2,000 request header fields and refuses 2,001 with 431; a response with 2,001 gets 502', async () => {
    // node:http's maxHeadersCount (2,000) as a limit, answered instead of the fields dropped.
    let fields = 0;
    const s = await rawBackend('127.0.3.91', (socket, head) => {
      fields = head.split('\r\n').length - 1;
      const many = head.startsWith('GET /many-back ') ? 'a: 1\r\n'.repeat(2001) : '';
      socket.write(`HTTP/1.1 200 OK\r\n${many}Content-Length: 2\r\n\r\nok`);
    });
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.91', port: portOf(s) }]) }]),
    );
    const head = (n: number, path = '/') =>
      `GET ${path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n${'a: 1\r\n'.repeat(n - 2)}\r\n`;
    expect(await raw(gw.http, head(2000))).toMatch(/^HTTP\/1\.1 200 /);
    // What the backend got: the 1,998 'a' fields and the gateway's own (forwarded headers, framing).
    expect(fields).toBeGreaterThan(1998);
    expect(await raw(gw.http, head(2001))).toMatch(/^HTTP\/1\.1 431 /);
    expect((await request(gw.http, { path: '/many-back' })).status).toBe(502);
  });

  it('answers 502 when every endpoint refuses', async () => {
    const port = await closedPort('127.0.3.14');
    const gw = await gateway(
      config([
        {
          host: '',
          path: '/',
          backend: backend('a', [
            { address: '127.0.3.14', port },
            { address: '127.0.3.15', port },
          ]),
        },
      ]),
    );
    const r = await request(gw.http, { method: 'PUT', body: 'x' });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('text/html');
    expect(r.headers.server).toBeTruthy();
  });

  it('answers 504 when the backend does not answer within the read timeout', async () => {
    const s = await rawBackend('127.0.3.16', () => {});
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.16', port: portOf(s) }]) }]),
      {
        readTimeoutMs: 150,
      },
    );
    const r = await request(gw.http);
    expect(r.status).toBe(504);
  });

  it('answers 502 for a reset, garbage or conflicting Content-Lengths', async () => {
    const answers: Record<string, (s: net.Socket) => void> = {
      '/reset': (s) => s.resetAndDestroy(),
      '/close': (s) => s.destroy(),
      '/garbage': (s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'),
      '/cl': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'),
      '/te-cl': (s) =>
        s.end(
          'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
        ),
    };
    const s = await rawBackend('127.0.3.17', (socket, head) => {
      const path = head.split(' ')[1]!;
      answers[path]!(socket);
    });
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.17', port: portOf(s) }]) }]),
    );
    for (const path of Object.keys(answers)) {
      const r = await request(gw.http, { path });
      expect(r.status, path).toBe(502);
    }
  });

  it('cuts the client connection when the response is cut off mid-body', async () => {
    const s = await rawBackend('127.0.3.18', (socket, head) => {
      if (head.includes('/chunked')) {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      } else {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..');
      }
      setImmediate(() => socket.destroy());
    });
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.18', port: portOf(s) }]) }]),
    );
    for (const path of ['/cl', '/chunked']) {
      const out = await raw(gw.http, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(out).toMatch(/^HTTP\/1.1 200/);
      if (path === '/cl') expect(out.endsWith('only ten..')).toBe(true);
      else expect(out).not.toContain('0\r\n\r\n');
    }
  });

  it('retries an idempotent request whose pooled connection the backend closed, not a POST', async () => {
    // Answers the first request on each connection; a second request on the same connection is met
    // with a close, as a backend whose keep-alive timeout just fired.
    const s = await rawBackend('127.0.3.19', (socket) => {
      const n = ((socket as net.Socket & { n?: number }).n ?? 0) + 1;
      (socket as net.Socket & { n?: number }).n = n;
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const gw = await gateway(
      config([{ host: '', path: '/', backend: backend('a', [{ address: '127.0.3.19', port: portOf(s) }]) }]),
    );
    expect((await request(gw.http)).status).toBe(200);
    expect((await request(gw.http)).status).toBe(200);
    expect((await request(gw.http, { method: 'POST', body: 'x' })).status).toBe(502);
  });

  it('resolves ExternalName endpoints by DNS at connect time', async () => {
    const b = await echoBackends(['127.0.0.1']);
    defer(() => b.close());
    const gw = await gateway(
      config([
        { host: '', path: '/', backend: backend('ext', [{ address: 'localhost', port: b.port }], true) },
      ]),
    );
    const r = await request(gw.http);
    expect(r.status).toBe(200);
    const refusing = await gateway(
      config([
        { host: '', path: '/', backend: backend('ext', [{ address: 'localhost', port: b.port }], true) },
      ]),
      { refuseLocalExternalNames: true },
    );
    expect((await request(refusing.http)).status).toBe(502);
  });

  describe('connect timeout', () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill();
    });

    it('retries on another endpoint after a connect timeout, 504 when none is left', async () => {
      // A listener that never accepts, with its backlog filled: further SYNs go unanswered.
      child = spawn('python3', [
        '-c',
        "import socket,sys\ns=socket.socket()\ns.bind(('127.0.3.20',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
      ]);
      const [data] = (await once(child.stdout!, 'data')) as [Buffer];
      const port = Number(data.toString().trim());
      const fillers: net.Socket[] = [];
      // With backlog 0 the accept queue holds one connection.
      fillers.push(net.connect(port, '127.0.3.20').on('error', () => {}));
      defer(() => {
        for (const f of fillers) f.destroy();
      });
      await once(fillers[0]!, 'connect');
      const b = await echoBackends(['127.0.3.21']);
      defer(() => b.close());
      const gw = await gateway(
        config([
          {
            host: 'two',
            path: '/',
            backend: backend('two', [
              { address: '127.0.3.20', port },
              { address: '127.0.3.21', port: b.port },
            ]),
          },
          { host: 'one', path: '/', backend: backend('one', [{ address: '127.0.3.20', port }]) },
        ]),
        { connectTimeoutMs: 100 },
      );
      for (let i = 0; i < 2; i++) {
        const r = await request(gw.http, { headers: { host: 'two' }, method: 'POST', body: 'abc' });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body).body).toBe('abc');
      }
      expect((await request(gw.http, { headers: { host: 'one' } })).status).toBe(504);
    });
  });
});
