// Black-box: upstream behaviour of the built CLI: ClientIP affinity, retries of refused connections,
// 502 when every endpoint refuses, 504 on --proxy-read-timeout, a response cut off mid-body.
// Pods on 127.0.30.x–127.0.35.x; clients bind 127.0.31.x to appear as distinct client IPs.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoBody, type Pod, startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { type Answer, request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';

interface Server {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** A plain HTTP server on `ip` (port 0 unless given) with its own handler. */
async function startServer(ip: string, handler: http.RequestListener, port = 0): Promise<Server> {
  const server = http.createServer(handler);
  server.listen(port, ip);
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A port on `ip` where nothing listens: bound once by us, then released. */
async function closedPort(ip: string): Promise<number> {
  const s = await startServer(ip, () => {});
  await s.close();
  return s.port;
}

const echoOf = (r: Answer): EchoBody => {
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as EchoBody;
};

function affinityService(ns: string, name: string, timeoutSeconds: number): object {
  const base = service(ns, name) as { spec: Record<string, unknown> };
  return {
    ...base,
    spec: {
      ...base.spec,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds } },
    },
  };
}

let gw: GatewayProcess;
let slowGw: GatewayProcess;
let stickyPods: { pods: Pod[]; port: number; close(): Promise<void> };
let live: Server;
let deadPort: number;
let slow: Server;
let cutter: Server;
/** Requests the slow backend holds without ever answering; ended in afterAll. */
const held: http.ServerResponse[] = [];
const heldArrived: Array<() => void> = [];
/** Set by the mid-body test: called by the backend once it wrote the head and part of the body. */
let cutterWrote: ((res: http.ServerResponse) => void) | undefined;

beforeAll(async () => {
  // Three echo pods behind two Services: one with ClientIP affinity, one round robin.
  stickyPods = await startPods('sticky', ['127.0.30.1', '127.0.30.2', '127.0.30.3']);
  const ips = stickyPods.pods.map((p) => p.ip);

  // The one live pod of `flaky`, which echoes a digest of the body it received; its siblings refuse.
  live = await startServer('127.0.32.2', (req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      length += c.length;
    });
    req.on('end', () => {
      const out = JSON.stringify({
        pod: 'flaky-live',
        method: req.method,
        length,
        sha256: hash.digest('hex'),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  deadPort = await closedPort('127.0.33.1');

  slow = await startServer('127.0.34.1', (req, res) => {
    req.resume();
    if (req.url === '/hang') {
      held.push(res);
      heldArrived.shift()?.();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });

  cutter = await startServer('127.0.35.1', (req, res) => {
    req.resume();
    if (req.url === '/reset-early') {
      req.socket.resetAndDestroy();
      return;
    }
    // /cut: the head promises 1000 bytes; 100 are written, then the test has the socket destroyed.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
    res.write(Buffer.alloc(100, 120));
    cutterWrote?.(res);
  });

  const { file } = await tempConfig([
    affinityService('up', 'sticky', 3600),
    slice('up', 'sticky', stickyPods.port, ips),
    service('up', 'plain'),
    slice('up', 'plain', stickyPods.port, ips),
    service('up', 'flaky'),
    slice('up', 'flaky', live.port, ['127.0.32.1', '127.0.32.2', '127.0.32.3']),
    service('up', 'dead'),
    slice('up', 'dead', deadPort, ['127.0.33.1', '127.0.33.2']),
    service('up', 'slow'),
    slice('up', 'slow', slow.port, ['127.0.34.1']),
    service('up', 'cutter'),
    slice('up', 'cutter', cutter.port, ['127.0.35.1']),
    ingress('up', 'upstream', [
      { host: 'sticky.up.test', service: 'sticky' },
      { host: 'plain.up.test', service: 'plain' },
      { host: 'flaky.up.test', service: 'flaky' },
      { host: 'dead.up.test', service: 'dead' },
      { host: 'slow.up.test', service: 'slow' },
      { host: 'cutter.up.test', service: 'cutter' },
    ]),
  ]);
  [gw, slowGw] = await Promise.all([
    startGateway(['--config', file]),
    startGateway([
      '--config',
      file,
      '--no-access-log',
      '--proxy-read-timeout',
      '1',
      '--proxy-next-upstream-tries',
      '1',
    ]),
  ]);
});

afterAll(async () => {
  await gw?.stop();
  await slowGw?.stop();
  for (const res of held) res.destroy();
  await stickyPods?.close();
  await live?.close();
  await slow?.close();
  await cutter?.close();
});

describe('session affinity', () => {
  it('round robins per request without affinity', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(echoOf(await request(gw.http, { localAddress: '127.0.31.1', host: 'plain.up.test' })).pod);
    }
    expect(new Set(seen)).toEqual(new Set(['sticky-0', 'sticky-1', 'sticky-2']));
    for (const p of new Set(seen)) expect(seen.filter((s) => s === p)).toHaveLength(2);
  });

  it('pins each client IP to one pod with sessionAffinity: ClientIP, independently', async () => {
    const clients = ['127.0.31.1', '127.0.31.2', '127.0.31.3'];
    const seen = new Map<string, string[]>(clients.map((c) => [c, []]));
    // Interleaved: every client's requests are separated by the others', and by round-robin traffic.
    for (let round = 0; round < 4; round++) {
      for (const client of clients) {
        const echo = echoOf(await request(gw.http, { localAddress: client, host: 'sticky.up.test' }));
        expect(echo.headers['x-real-ip']).toBe(client);
        seen.get(client)!.push(echo.pod);
        await request(gw.http, { localAddress: client, host: 'plain.up.test' });
      }
    }
    for (const client of clients) {
      const pods = seen.get(client)!;
      expect(new Set(pods).size, `${client} saw ${pods.join(',')}`).toBe(1);
    }
    // New clients are balanced over the pods, not all pinned to the same one.
    expect(new Set(clients.map((c) => seen.get(c)![0])).size).toBeGreaterThan(1);
  });
});

describe('retries and upstream errors', () => {
  it('retries a refused endpoint on another one: zero failures, POST bodies intact', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await request(gw.http, { host: 'flaky.up.test', path: `/get-${i}` });
      if (r.status !== 200 || JSON.parse(r.body).pod !== 'flaky-live') failures.push(`${r.status} ${r.body}`);
    }
    expect(failures).toEqual([]);

    // Several POSTs in a row, so that round robin sends some of them to a refusing endpoint first;
    // Content-Length and chunked bodies.
    const body = randomBytes(256 * 1024);
    const digest = createHash('sha256').update(body).digest('hex');
    for (let i = 0; i < 6; i++) {
      const chunked = i % 2 === 1;
      const r = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: gw.http,
            method: 'POST',
            path: `/post-${i}`,
            agent: false,
            headers: chunked
              ? { host: 'flaky.up.test', 'transfer-encoding': 'chunked' }
              : { host: 'flaky.up.test', 'content-length': body.length },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        if (chunked) {
          for (let off = 0; off < body.length; off += 16 * 1024)
            req.write(body.subarray(off, off + 16 * 1024));
          req.end();
        } else {
          req.end(body);
        }
      });
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body)).toEqual({
        pod: 'flaky-live',
        method: 'POST',
        length: body.length,
        sha256: digest,
      });
    }

    // The access log lists every endpoint tried, as nginx's $upstream_addr: refused ones were tried first.
    const lines = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gw.waitForLog((l) => l.path === `/post-${i}` && l.method === 'POST'),
      ),
    );
    const tried = lines.map((l) => String(l.upstream_addr));
    expect(
      tried.some((a) => /127\.0\.32\.[13]:/.test(a)),
      tried.join(' | '),
    ).toBe(true);
    for (const line of lines) expect(line.status).toBe(200);
  });

  it('--proxy-next-upstream-tries 1: a refused connection is not retried', async () => {
    // flaky: 2 of its 3 endpoints refuse. The default gateway (3 tries) answered every request above;
    // with one try, each request that round robin sends to a refusing endpoint gets 502.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await request(slowGw.http, { host: 'flaky.up.test', path: `/once-${i}` })).status);
    }
    expect(statuses.filter((s) => s !== 200 && s !== 502)).toEqual([]);
    expect(statuses).toContain(502);
    expect(statuses).toContain(200);
  });

  it('answers 502 with Server, Content-Type and Content-Length when every endpoint refuses', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await request(gw.http, {
        host: 'dead.up.test',
        method,
        ...(method === 'POST' ? { body: 'payload' } : {}),
      });
      expect(r.status).toBe(502);
      expect(r.headers.server).toBeTruthy();
      expect(r.headers['content-type']).toBeTruthy();
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    }
  });

  it('answers 502 when the backend resets the connection before answering', async () => {
    const r = await request(gw.http, { host: 'cutter.up.test', path: '/reset-early' });
    expect(r.status).toBe(502);
    expect(r.headers.server).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('answers 504 when the backend does not answer within --proxy-read-timeout', async () => {
    // Sanity: the same backend answers other paths through the same gateway.
    expect((await request(slowGw.http, { host: 'slow.up.test', path: '/fast' })).status).toBe(200);

    const arrived = new Promise<void>((resolve) => heldArrived.push(resolve));
    const answer = request(slowGw.http, { host: 'slow.up.test', path: '/hang' });
    await arrived; // the backend holds the request and never answers
    const r = await answer;
    expect(r.status).toBe(504);
    expect(r.headers.server).toBeTruthy();
    expect(r.headers['content-type']).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('ends the client connection when the backend is cut off mid-body', async () => {
    const outcome = await new Promise<{
      status: number;
      contentLength: string | undefined;
      bytes: number;
      ended: boolean;
      complete: boolean;
    }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the client connection did not end within 10 s')),
        10_000,
      );
      let backendRes: http.ServerResponse | undefined;
      let clientHasData = false;
      // Cut only once both sides are there: the backend wrote 100 bytes and the client received some,
      // so the head has certainly been forwarded.
      const cut = (): void => {
        if (backendRes && clientHasData) backendRes.socket?.destroy();
      };
      cutterWrote = (res) => {
        backendRes = res;
        cut();
      };
      const req = http.request(
        { host: '127.0.0.1', port: gw.http, path: '/cut', headers: { host: 'cutter.up.test' }, agent: false },
        (res) => {
          let bytes = 0;
          let ended = false;
          res.on('data', (d: Buffer) => {
            bytes += d.length;
            if (!clientHasData) {
              clientHasData = true;
              cut();
            }
          });
          res.on('end', () => (ended = true));
          res.on('error', () => {});
          res.on('close', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode!,
              contentLength: res.headers['content-length'],
              bytes,
              ended,
              complete: res.complete,
            });
          });
        },
      );
      req.on('error', () => {});
      req.end();
    });
    cutterWrote = undefined;
    expect(outcome.status).toBe(200);
    expect(outcome.contentLength).toBe('1000');
    expect(outcome.bytes).toBeGreaterThan(0);
    expect(outcome.bytes).toBeLessThan(1000);
    expect(outcome.complete).toBe(false);
    expect(outcome.ended).toBe(false);
  });
});
