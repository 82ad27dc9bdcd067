// How far a request whose connections fail is retried: --proxy-next-upstream-tries (default 3, the
// first try included; 0: each endpoint once) and --proxy-next-upstream-timeout (no new try after it),
// with ingress-nginx's meaning, for plain requests and WebSocket upgrades alike.
import type net from 'node:net';
import type { Endpoint } from '@gateway/translate';
import { afterEach, describe, expect, it } from 'vitest';
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
  unansweredPorts,
  until,
} from './harness.test-support.js';
import type { DataPlaneOptions } from './types.js';

afterEach(runDeferred);

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** `n` refusing endpoints (nothing listens on that port on those IPs). */
async function refusing(n: number): Promise<Endpoint[]> {
  const port = await closedPort('127.0.62.1');
  return Array.from({ length: n }, (_, i) => ({ address: `127.0.62.${i + 1}`, port }));
}

async function oneRoute(eps: Endpoint[], opts: Partial<DataPlaneOptions> = {}) {
  return gateway(config([{ host: '', path: '/', backend: backend('r', eps) }]), opts);
}

function triedOf(upstreamAddr: string): number {
  return upstreamAddr === '' ? 0 : upstreamAddr.split(', ').length;
}

describe('retry limits', () => {
  it.each([
    [undefined, 3],
    [1, 1],
    [2, 2],
    [0, 5],
    [9, 5],
  ])(
    '--proxy-next-upstream-tries %s over 5 refusing endpoints: %i tries, then 502',
    async (tries, expected) => {
      const gw = await oneRoute(await refusing(5), tries === undefined ? {} : { nextUpstreamTries: tries });
      for (const method of ['GET', 'POST']) {
        gw.records.length = 0;
        const r = await request(gw.http, { method, ...(method === 'POST' ? { body: 'x' } : {}) });
        expect(r.status).toBe(502);
        await until(() => gw.records.length === 1, 'record');
        const rec = gw.records[0]!;
        expect(triedOf(rec.upstream_addr), rec.upstream_addr).toBe(expected);
        expect(rec.upstream_status).toBe(Array(expected).fill('502').join(', '));
        expect(new Set(rec.upstream_addr.split(', ')).size).toBe(expected);
      }
    },
  );

  it('counts the first try: two refusing endpoints before the live one need 3 tries', async () => {
    const b = await startBackends(['127.0.62.9'], (_req, res) => res.end('live'));
    defer(() => b.close());
    const dead = await refusing(2);
    const eps = [...dead.map((e) => ({ ...e, port: b.port })), { address: '127.0.62.9', port: b.port }];
    // Round robin starts at the first endpoint: refused, refused, live.
    expect((await request((await oneRoute(eps)).http)).body).toBe('live');
    expect((await request((await oneRoute(eps, { nextUpstreamTries: 2 })).http)).status).toBe(502);
  });

  it('stops after 3 connect timeouts (not one per endpoint): 504 in about 3 × the connect timeout', async () => {
    const ips = ['127.0.62.21', '127.0.62.22', '127.0.62.23', '127.0.62.24', '127.0.62.25'];
    const ports = await unansweredPorts(ips);
    const eps = ips.map((address, i) => ({ address, port: ports[i]! }));
    const gw = await oneRoute(eps, { connectTimeoutMs: 100 });
    const r = await request(gw.http);
    expect(r.status).toBe(504);
    await until(() => gw.records.length === 1, 'record');
    expect(gw.records[0]).toMatchObject({ status: 504, upstream_status: '504, 504, 504' });
    // Held about 3 × 100 ms, not 5 × (or 16 ×) the connect timeout.
    expect(gw.records[0]!.request_time).toBeLessThan(1);

    // A WebSocket upgrade stops after the same number of tries.
    const out = await raw(gw.http, UPGRADE);
    expect(out).toMatch(/^HTTP\/1\.1 504 /);
    await until(() => gw.records.length === 2, 'record');
    expect(gw.records[1]).toMatchObject({ status: 504, upstream_status: '504, 504, 504' });
    expect(triedOf(gw.records[1]!.upstream_addr)).toBe(3);
  });

  it('--proxy-next-upstream-timeout: no new try once it has passed since the first began', async () => {
    const ips = ['127.0.62.31', '127.0.62.32', '127.0.62.33', '127.0.62.34'];
    const ports = await unansweredPorts(ips);
    const eps = ips.map((address, i) => ({ address, port: ports[i]! }));
    // Each try takes the 100 ms connect timeout. A 50 ms window is over when the first try fails: one
    // try (the try under way is not cut short). A 5 s window lets all four endpoints be tried.
    for (const [windowMs, expected] of [
      [50, '504'],
      [5000, '504, 504, 504, 504'],
    ] as const) {
      const gw = await oneRoute(eps, {
        connectTimeoutMs: 100,
        nextUpstreamTries: 0,
        nextUpstreamTimeoutMs: windowMs,
      });
      expect((await request(gw.http)).status).toBe(504);
      expect((await raw(gw.http, UPGRADE)).startsWith('HTTP/1.1 504 ')).toBe(true);
      await until(() => gw.records.length === 2, 'records');
      for (const rec of gw.records) expect(rec.upstream_status, String(windowMs)).toBe(expected);
    }
  });

  it('the replay of a request whose pooled connection the backend closed does not use up a try', async () => {
    // The first request on each connection is answered; a second one on it is met with a close.
    const s = await startRawBackend('127.0.62.41', (socket: net.Socket & { n?: number }) => {
      socket.on('error', () => {});
      socket.on('data', (d) => {
        if (!d.includes('\r\n\r\n')) return;
        socket.n = (socket.n ?? 0) + 1;
        if (socket.n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
    });
    defer(() => {
      s.close();
    });
    const gw = await oneRoute([{ address: '127.0.62.41', port: portOf(s) }], { nextUpstreamTries: 1 });
    expect((await request(gw.http)).status).toBe(200);
    expect((await request(gw.http)).status).toBe(200);
    await until(() => gw.records.length === 2, 'records');
    expect(gw.records[1]!.upstream_status).toBe('502, 200');
  });

  it('WebSocket upgrades: --proxy-next-upstream-tries over refusing endpoints', async () => {
    for (const [tries, expected] of [
      [undefined, 3],
      [1, 1],
      [0, 4],
    ] as const) {
      const gw = await oneRoute(await refusing(4), tries === undefined ? {} : { nextUpstreamTries: tries });
      expect((await raw(gw.http, UPGRADE)).startsWith('HTTP/1.1 502 ')).toBe(true);
      await until(() => gw.records.length === 1, 'record');
      expect(triedOf(gw.records[0]!.upstream_addr), String(tries)).toBe(expected);
      expect(gw.records[0]!.status).toBe(502);
    }
  });
});
