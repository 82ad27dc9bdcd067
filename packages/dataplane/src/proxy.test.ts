import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backends,
  backend,
  config,
  type Gateway,
  raw,
  request,
  startBackends,
  startGateway,
  until,
} from './harness.test-support.js';

describe('HTTP proxying', () => {
  let backends: Backends;
  let gw: Gateway;
  const seen: { ip: string; method: string; url: string; headers: Record<string, unknown>; body: string }[] =
    [];

  beforeAll(async () => {
    backends = await startBackends(['127.0.3.1', '127.0.3.2'], (req, res, ip) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ ip, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/no-content') {
          res.writeHead(204);
          res.end();
          return;
        }
        if (req.url === '/server') {
          res.writeHead(200, { server: 'backend/1', 'content-length': '2' });
          res.end('ok');
          return;
        }
        if (req.url === '/hop') {
          res.writeHead(200, {
            connection: 'x-secret, keep-alive',
            'x-secret': '1',
            'keep-alive': 'timeout=5',
            'content-length': '2',
          });
          res.end('ok');
          return;
        }
        if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
          res.write('hello ');
          res.write('world');
          res.addTrailers({ 'x-checksum': 'abc' });
          res.end();
          return;
        }
        const out = JSON.stringify({ ip, url: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      });
    });
    const web = backend('web', [
      { address: '127.0.3.1', port: backends.port },
      { address: '127.0.3.2', port: backends.port },
    ]);
    gw = await startGateway(
      config([
        { host: 'example.com', path: '/', backend: web },
        { host: 'other.example.com', path: '/', backend: web },
        { host: 'empty.example.com', path: '/', backend: backend('empty', []) },
        { host: 'missing.example.com', path: '/', backend: undefined },
      ]),
    );
  });
  afterAll(async () => {
    await gw.close();
    await backends.close();
  });

  it('routes by host and balances over endpoints', async () => {
    const a = JSON.parse((await request(gw.http, { path: '/x' })).body);
    const b = JSON.parse((await request(gw.http, { path: '/x' })).body);
    expect(new Set([a.ip, b.ip])).toEqual(new Set(['127.0.3.1', '127.0.3.2']));
  });

  it('answers 404 for an unknown host, 503 without endpoints or backend, with gateway headers', async () => {
    for (const [host, status] of [
      ['nope.test', 404],
      ['empty.example.com', 503],
      ['missing.example.com', 503],
    ] as const) {
      const r = await request(gw.http, { headers: { host } });
      expect(r.status).toBe(status);
      expect(r.headers.server).toBeTruthy();
      expect(r.headers['content-type']).toBe('text/html');
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    }
  });

  it('forwards the request-target exactly as sent', async () => {
    for (const target of ['/a/../b', '/a%2Fb', '/x//y?q=1&r', '/%7Euser']) {
      const r = JSON.parse((await request(gw.http, { path: target })).body);
      expect(r.url).toBe(target);
    }
  });

  it('answers 400 for a target that does not decode or climbs above the root', async () => {
    for (const target of ['/%zz', '/..', '/a/../../b']) {
      const r = await request(gw.http, { path: target });
      expect(r.status).toBe(400);
      expect(r.headers.server).toBeTruthy();
      expect(r.headers['content-type']).toBe('text/html');
    }
  });

  it('routes an absolute-form request by its authority and forwards origin form', async () => {
    const out = await raw(
      gw.http,
      'GET http://other.example.com/abs?x=1 HTTP/1.1\r\nHost: nope.test\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    const last = seen.at(-1)!;
    expect(last.url).toBe('/abs?x=1');
    expect(last.headers.host).toBe('other.example.com');
  });

  it('sets forwarded headers and keeps Host, User-Agent and a client X-Request-ID', async () => {
    await request(gw.http, {
      path: '/fwd',
      headers: { 'x-forwarded-for': '10.0.0.1', 'user-agent': 'curl/8', 'x-request-id': 'abc' },
    });
    const h = seen.at(-1)!.headers;
    expect(h.host).toBe('example.com');
    expect(h['user-agent']).toBe('curl/8');
    expect(h['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('example.com');
    expect(h['x-forwarded-port']).toBe(String(gw.http));
    expect(h['x-real-ip']).toBe('127.0.0.1');
    expect(h['x-request-id']).toBe('abc');
    await request(gw.http, { path: '/fwd' });
    expect(seen.at(-1)!.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('removes hop-by-hop headers in both directions and adds Server', async () => {
    await request(gw.http, {
      path: '/fwd',
      headers: {
        connection: 'keep-alive, x-drop',
        'x-drop': '1',
        'keep-alive': '5',
        te: 'trailers',
        upgrade: 'h2c',
        'http2-settings': 'AAA',
        'proxy-connection': 'x',
      },
    });
    const h = seen.at(-1)!.headers;
    for (const name of ['x-drop', 'keep-alive', 'te', 'upgrade', 'http2-settings', 'proxy-connection']) {
      expect(h[name], name).toBeUndefined();
    }
    const r = await request(gw.http, { path: '/hop' });
    expect(r.headers['x-secret']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.headers.server).toBe('ingress-gateway');
    const s = await request(gw.http, { path: '/server' });
    expect(s.headers.server).toBe('backend/1');
  });

  it('keeps Content-Length framing, passes chunked bodies with trailers, no body for HEAD and 204', async () => {
    const cl = await request(gw.http, { path: '/server' });
    expect(cl.headers['content-length']).toBe('2');
    expect(cl.headers['transfer-encoding']).toBeUndefined();
    const ch = await request(gw.http, { path: '/chunked' });
    expect(ch.headers['transfer-encoding']).toBe('chunked');
    expect(ch.body).toBe('hello world');
    expect(ch.trailers['x-checksum']).toBe('abc');
    const head = await request(gw.http, { path: '/server', method: 'HEAD' });
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('2');
    const nc = await request(gw.http, { path: '/no-content' });
    expect(nc.status).toBe(204);
    expect(nc.body).toBe('');
  });

  it('streams request bodies, chunked or not, for every method', async () => {
    for (const method of [
      'POST',
      'PUT',
      'PATCH',
      'DELETE',
      'PROPFIND',
      'PURGE',
      'SEARCH',
      'MKCOL',
      'REPORT',
    ]) {
      const r = await request(gw.http, { method, path: '/m', body: `body-${method}` });
      expect(r.status, method).toBe(200);
      const last = seen.at(-1)!;
      expect(last.method).toBe(method);
      expect(last.body).toBe(`body-${method}`);
    }
    const out = await raw(
      gw.http,
      'DELETE /chunk HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(seen.at(-1)!.body).toBe('hello');
    expect(seen.at(-1)!.headers['transfer-encoding']).toBe('chunked');
  });

  it('proxies QUERY without a Content-Type, Expect: 100-continue and HTTP/1.0', async () => {
    const q = await raw(
      gw.http,
      'QUERY /q HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    );
    expect(q).toMatch(/^HTTP\/1.1 200/);
    expect(seen.at(-1)).toMatchObject({ method: 'QUERY', body: 'abc' });
    const r = await request(gw.http, {
      method: 'POST',
      path: '/expect',
      headers: { expect: '100-continue' },
      body: 'xyz',
    });
    expect(r.status).toBe(200);
    expect(seen.at(-1)!.body).toBe('xyz');
    const odd = await request(gw.http, {
      method: 'POST',
      path: '/odd',
      headers: { 'content-type': ';;;' },
      body: 'o',
    });
    expect(odd.status).toBe(200);
    expect(seen.at(-1)!.body).toBe('o');
    const old = await raw(gw.http, 'GET /old HTTP/1.0\r\nHost: example.com\r\n\r\n');
    expect(old).toMatch(/^HTTP\/1.1 200/);
    expect(old).toContain('"url":"/old"');
  });

  it('reports each request to the observer with route labels', async () => {
    const before = gw.records.length;
    await request(gw.http, { path: '/rec?q=1', headers: { 'x-request-id': 'rid-1' } });
    await until(() => gw.records.length > before, 'record');
    const r = gw.records.at(-1)!;
    expect(r).toMatchObject({
      method: 'GET',
      host: 'example.com',
      path: '/rec?q=1',
      status: 200,
      namespace: 'default',
      ingress: 'ing-web',
      service: 'web',
      req_id: 'rid-1',
      scheme: 'http',
      remote_addr: '127.0.0.1',
    });
    expect(r.upstream_addr).toMatch(/^127\.0\.3\.[12]:\d+$/);
    expect(r.upstream_status).toBe('200');
    expect(r.bytes_sent).toBeGreaterThan(50);
    expect(r.request_length).toBeGreaterThan(20);
    expect(r.upstream_response_time).toBeGreaterThanOrEqual(0);
    expect(r.route?.host).toBe('example.com');
    await until(() => gw.connections.closed === gw.connections.open, 'connections closed');
    expect(gw.connections.open).toBeGreaterThan(10);
    const n = gw.records.length;
    await request(gw.http, { headers: { host: 'nope.test' } });
    await until(() => gw.records.length > n, 'record');
    expect(gw.records.at(-1)).toMatchObject({
      status: 404,
      namespace: '',
      route: undefined,
      upstream_addr: '',
    });
  });
});
