// RFC 9112 §9.6: a request that ends the connection (`Connection: close`, or HTTP/1.0 without
// keep-alive) gets one answer, then the connection closes; bytes pipelined behind it are never a request.
import { afterEach, describe, expect, it } from 'vitest';
import {
  backend,
  config,
  defer,
  trackedGateway as gateway,
  raw,
  runDeferred,
  startBackends,
  until,
} from './harness.test-support.js';

afterEach(runDeferred);

/** The status lines in what came back (bodies here never contain one). */
function statusLines(out: string): string[] {
  return out.match(/HTTP\/1\.[01] \d{3}/g) ?? [];
}

describe('a request that closes the connection', () => {
  async function setup() {
    const seen: string[] = [];
    const b = await startBackends(['127.0.61.1'], (req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        res.end(`saw ${req.url}`);
      });
    });
    defer(() => b.close());
    const gw = await gateway(
      config([{ host: 'a', path: '/', backend: backend('cc', [{ address: '127.0.61.1', port: b.port }]) }]),
    );
    return { seen, gw };
  }

  it.each([
    ['Connection: close', 'GET /one HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.0 without keep-alive', 'GET /one HTTP/1.0\r\nHost: a\r\n\r\n'],
    [
      'a body and Connection: close',
      'POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    ],
  ])(
    '%s: one response, then the connection closes; what follows is never processed',
    async (_name, first) => {
      const { seen, gw } = await setup();
      // Both requests in one write (one packet on loopback): the second must not reach anything.
      const out = await raw(gw.http, `${first}GET /two HTTP/1.1\r\nHost: a\r\n\r\n`);
      expect(statusLines(out)).toEqual(['HTTP/1.1 200']);
      expect(out).toMatch(/\r\nConnection: close\r\n/i);
      expect(out.endsWith('saw /one')).toBe(true);
      expect(seen.map((s) => s.split(' ')[1])).toEqual(['/one']);
      await until(() => gw.records.length >= 1, 'record');
      await new Promise((r) => setTimeout(r, 20));
      expect(gw.records.map((r) => [r.path, r.status])).toEqual([['/one', 200]]);
    },
  );

  it('the same when the gateway answers the first request itself (404)', async () => {
    const { seen, gw } = await setup();
    const out = await raw(
      gw.http,
      'GET /one HTTP/1.1\r\nHost: unknown\r\nConnection: close\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    expect(statusLines(out)).toEqual(['HTTP/1.1 404']);
    expect(seen).toEqual([]);
    await until(() => gw.records.length >= 1, 'record');
    await new Promise((r) => setTimeout(r, 20));
    expect(gw.records.map((r) => r.status)).toEqual([404]);
  });

  it('HTTP/1.0 with keep-alive still serves what is pipelined behind it', async () => {
    const { seen, gw } = await setup();
    const out = await raw(
      gw.http,
      'GET /one HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(statusLines(out)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(seen.map((s) => s.split(' ')[1])).toEqual(['/one', '/two']);
    await until(() => gw.records.length === 2, 'records');
  });
});
