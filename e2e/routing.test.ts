// Black-box: the built CLI serving a generated YAML file, real pods on 127.0.3.x / 127.0.4.x.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pod, startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';

let gw: GatewayProcess;
let nginx: { pods: Pod[]; port: number; close(): Promise<void> };
let tomcat: { pods: Pod[]; port: number; close(): Promise<void> };

beforeAll(async () => {
  nginx = await startPods('nginx', ['127.0.3.1', '127.0.3.2', '127.0.3.3']);
  tomcat = await startPods('tomcat', ['127.0.4.1', '127.0.4.2', '127.0.4.3']);
  const { file } = await tempConfig([
    service('web', 'nginx'),
    slice(
      'web',
      'nginx',
      nginx.port,
      nginx.pods.map((p) => p.ip),
    ),
    service('web', 'tomcat'),
    slice(
      'web',
      'tomcat',
      tomcat.port,
      tomcat.pods.map((p) => p.ip),
    ),
    service('web', 'empty'),
    ingress('web', 'nginx', [
      { host: 'nginx.example.test', service: 'nginx' },
      { host: 'nginx.example.test', path: '/tomcat', service: 'tomcat' },
      { host: 'nginx.example.test', path: '/exact', pathType: 'Exact', service: 'tomcat' },
      { host: 'nginx.example.test', path: '/empty', service: 'empty' },
    ]),
    ingress('web', 'tomcat', [{ host: '*.tomcat.test', service: 'tomcat' }]),
  ]);
  gw = await startGateway(['--config', file]);
});

afterAll(async () => {
  await gw?.stop();
  await nginx?.close();
  await tomcat?.close();
});

const pod = (body: string): string => (JSON.parse(body) as { pod: string }).pod;

describe('routing through the built gateway', () => {
  it('routes by host, round robin over the three pods', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await request(gw.http, { host: 'nginx.example.test', path: '/' });
      expect(r.status).toBe(200);
      seen.push(pod(r.body));
    }
    expect(new Set(seen)).toEqual(new Set(['nginx-0', 'nginx-1', 'nginx-2']));
    expect(seen.filter((p) => p === 'nginx-0')).toHaveLength(2);
  });

  it('ignores the Host port and case', async () => {
    const r = await request(gw.http, { host: 'NGINX.Example.TEST:8080', path: '/x' });
    expect(pod(r.body)).toMatch(/^nginx-/);
  });

  it('longest prefix wins and matches whole path elements', async () => {
    expect(pod((await request(gw.http, { host: 'nginx.example.test', path: '/tomcat/a' })).body)).toMatch(
      /^tomcat-/,
    );
    expect(pod((await request(gw.http, { host: 'nginx.example.test', path: '/tomcatx' })).body)).toMatch(
      /^nginx-/,
    );
  });

  it('Exact matches only the exact path', async () => {
    expect(pod((await request(gw.http, { host: 'nginx.example.test', path: '/exact' })).body)).toMatch(
      /^tomcat-/,
    );
    expect(pod((await request(gw.http, { host: 'nginx.example.test', path: '/exact/' })).body)).toMatch(
      /^nginx-/,
    );
  });

  it('matches a normalised path but forwards the request-target as sent', async () => {
    const r = await request(gw.http, { host: 'nginx.example.test', path: '/tomcat/../%2e%2e/x/../tomcat/a' });
    // normalises to /tomcat/a? no: /tomcat/../ climbs to /, then /%2e%2e climbs above the root: 400
    expect(r.status).toBe(400);
    const ok = await request(gw.http, { host: 'nginx.example.test', path: '/public/%2e%2e/tomcat/a?q=1' });
    expect(ok.status).toBe(200);
    const echo = JSON.parse(ok.body) as { pod: string; url: string };
    expect(echo.pod).toMatch(/^tomcat-/);
    expect(echo.url).toBe('/public/%2e%2e/tomcat/a?q=1');
  });

  it('matches a wildcard host on one label only', async () => {
    expect(pod((await request(gw.http, { host: 'a.tomcat.test' })).body)).toMatch(/^tomcat-/);
    expect((await request(gw.http, { host: 'a.b.tomcat.test' })).status).toBe(404);
  });

  it('answers 404 with Server, Content-Type and Content-Length for an unknown host', async () => {
    const r = await request(gw.http, { host: 'unknown.test' });
    expect(r.status).toBe(404);
    expect(r.headers.server).toBeTruthy();
    expect(r.headers['content-type']).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('answers 503 for a Service without ready endpoints', async () => {
    expect((await request(gw.http, { host: 'nginx.example.test', path: '/empty' })).status).toBe(503);
  });

  it('forwards the original Host and the X-Forwarded headers', async () => {
    const r = await request(gw.http, {
      host: 'nginx.example.test',
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc123', 'user-agent': 'e2e/1' },
    });
    const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(headers.host).toBe('nginx.example.test');
    expect(headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe('nginx.example.test');
    expect(headers['x-forwarded-port']).toBe(String(gw.http));
    expect(headers['x-real-ip']).toBe('127.0.0.1');
    expect(headers['x-request-id']).toBe('abc123');
    expect(headers['user-agent']).toBe('e2e/1');
    const generated = JSON.parse((await request(gw.http, { host: 'nginx.example.test' })).body) as {
      headers: Record<string, string>;
    };
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f]{8,}/);
  });

  it('writes one access-log line per request with ingress-nginx keys', async () => {
    await request(gw.http, { host: 'nginx.example.test', path: '/logged-path' });
    const line = await gw.waitForLog((l) => l.path === '/logged-path');
    expect(line).toMatchObject({
      method: 'GET',
      host: 'nginx.example.test',
      status: 200,
      namespace: 'web',
      ingress: 'nginx',
      service: 'nginx',
      upstream_status: '200',
    });
    for (const key of [
      'time',
      'remote_addr',
      'bytes_sent',
      'request_length',
      'request_time',
      'upstream_addr',
      'upstream_response_time',
      'req_id',
    ]) {
      expect(line).toHaveProperty(key);
    }
  });
});
