import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backends,
  backend,
  config,
  type Gateway,
  request,
  startBackends,
  startGateway,
} from './harness.test-support.js';

function httpsGet(port: number, host: string, path = '/', servername?: string) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path,
          headers: { host },
          rejectUnauthorized: false,
          servername,
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

describe('HTTPS listener and redirects', () => {
  let backends: Backends;
  let gw: Gateway;
  let gw8443: Gateway;

  beforeAll(async () => {
    backends = await startBackends(['127.0.3.41'], (req, res) => {
      const out = JSON.stringify({
        proto: req.headers['x-forwarded-proto'],
        port: req.headers['x-forwarded-port'],
      });
      res.writeHead(200, { 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
    const b = backend('web', [{ address: '127.0.3.41', port: backends.port }]);
    const cfg = config([
      { host: 'secure.example.com', path: '/', backend: b, tlsRedirect: true },
      { host: 'plain.example.com', path: '/', backend: b },
    ]);
    gw = await startGateway(cfg);
    gw8443 = await startGateway(cfg, { redirectHttpsPort: 8443 });
  });
  afterAll(async () => {
    await gw.close();
    await gw8443.close();
    await backends.close();
  });

  it('serves HTTPS with the certificate source, SNI or not', async () => {
    const r = await httpsGet(gw.https, 'secure.example.com', '/', 'secure.example.com');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ proto: 'https', port: String(gw.https) });
    const noSni = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: gw.https, rejectUnauthorized: false }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    expect(noSni).toMatch(/TLSv1\.[23]/);
  });

  it('redirects plain HTTP to a TLS host with 308, keeping the target', async () => {
    const r = await request(gw.http, { path: '/a/b?c=d', headers: { host: 'Secure.Example.com:8080' } });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://secure.example.com/a/b?c=d');
    expect(r.headers['content-type']).toBe('text/html');
    expect(r.headers.server).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    const p = await request(gw8443.http, { path: '/x', headers: { host: 'secure.example.com' } });
    expect(p.headers.location).toBe('https://secure.example.com:8443/x');
    const plain = await request(gw.http, { headers: { host: 'plain.example.com' } });
    expect(plain.status).toBe(200);
  });
});
