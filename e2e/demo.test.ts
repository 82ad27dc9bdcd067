// The README's first command starts examples/demo.mjs: the seed example with its demo backends.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GatewayProcess, ROOT, startGateway } from './support/gateway-process.js';
import { httpsRequest, request } from './support/http-client.js';

let gw: GatewayProcess;

beforeAll(async () => {
  gw = await startGateway([], join(ROOT, 'examples/demo.mjs'));
});

afterAll(async () => {
  await gw?.stop();
});

it('serves nginx.example.test from the three nginx pods', async () => {
  const pods = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await request(gw.http, { host: 'nginx.example.test' });
    expect(r.status).toBe(200);
    pods.add(r.body.split(':')[0]!);
  }
  expect(pods).toEqual(new Set(['nginx pod 127.0.1.1', 'nginx pod 127.0.1.2', 'nginx pod 127.0.1.3']));
});

it('redirects tomcat.example.test to https and serves it there with its certificate', async () => {
  const plain = await request(gw.http, { host: 'tomcat.example.test', path: '/x' });
  expect(plain.status).toBe(308);
  expect(plain.headers.location).toBe('https://tomcat.example.test/x');
  const secure = await httpsRequest(gw.https, { servername: 'tomcat.example.test', path: '/x' });
  expect(secure.status).toBe(200);
  expect(secure.body).toMatch(/^tomcat pod 127\.0\.2\.\d: GET \/x/);
  expect(secure.peerCertificate.subject.CN).toBe('tomcat.example.test');
});
