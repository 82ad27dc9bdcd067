// Black-box: invalid configuration at start, with --check, and later (the last good one keeps serving);
// malformed HTTP harms no other client.
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, ROOT, runCli, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';

// The seed example's mistake: `host` and `secret` instead of `hosts` and `secretName`.
const MISTAKEN_TLS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ingress-http
  namespace: dev
spec:
  tls:
    - host: [nginx.example.test]
      secret: {name: nginx-tls}
  rules:
    - host: nginx.example.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: nginx, port: {number: 80}}
`;

describe('invalid configuration at start', () => {
  it('exits 2 naming the file, the object and the field paths, with suggestions', async () => {
    const { dir } = await tempConfig([]);
    const file = join(dir, 'mistaken.yaml');
    await writeFile(file, MISTAKEN_TLS);
    const { code, stdout, stderr } = await runCli([
      '--config',
      file,
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--metrics-port',
      '0',
    ]);
    expect(code).toBe(2);
    const out = stdout + stderr;
    expect(out).toContain('mistaken.yaml');
    expect(out).toContain('Ingress dev/ingress-http');
    expect(out).toMatch(/spec\.tls\[0\]\.host: unknown field "host" \(did you mean "hosts"\?\)/);
    expect(out).toMatch(/spec\.tls\[0\]\.secret: unknown field "secret" \(did you mean "secretName"\?\)/);
  });

  it('--check reports the same and exits 2; a valid file exits 0', async () => {
    const { dir } = await tempConfig([]);
    const file = join(dir, 'mistaken.yaml');
    await writeFile(file, MISTAKEN_TLS);
    const bad = await runCli(['--config', file, '--check']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('spec.tls[0].secret');
    const good = await runCli(['--config', join(ROOT, 'examples/seed.yaml'), '--check']);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
  });

  it('exits 2 on an unknown flag and prints the usage', async () => {
    const r = await runCli(['--config', 'x.yaml', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage:');
  });
});

describe('while running', () => {
  let gw: GatewayProcess;
  let pods: Awaited<ReturnType<typeof startPods>>;
  let file: string;

  beforeAll(async () => {
    pods = await startPods('api', ['127.0.9.1']);
    ({ file } = await tempConfig([
      service('prod', 'api'),
      slice(
        'prod',
        'api',
        pods.port,
        pods.pods.map((p) => p.ip),
      ),
      ingress('prod', 'api', [{ host: 'api.example.test', service: 'api' }]),
    ]));
    gw = await startGateway(['--config', file]);
  });
  afterAll(async () => {
    await gw?.stop();
    await pods?.close();
  });

  it('keeps the last good configuration when the file turns invalid, and counts the failure', async () => {
    await writeFile(file, `${MISTAKEN_TLS}---\nkind: [unclosed\n`);
    await gw.waitForLog((l) => l.msg === 'invalid configuration; keeping the last good one');
    expect((await request(gw.http, { host: 'api.example.test' })).status).toBe(200);
    const metrics = (await request(gw.metrics, { path: '/metrics' })).body;
    expect(metrics).toMatch(/ingress_gateway_config_reloads_total\{result="failure"\} 1/);
    expect(metrics).toMatch(/ingress_gateway_config_last_reload_successful 0/);
  });

  it('answers malformed requests with 400 or 431 and closes, harming no other client', async () => {
    const keepAlive = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    expect((await request(gw.http, { host: 'api.example.test', agent: keepAlive })).status).toBe(200);
    const cases: Array<[string, number]> = [
      [
        'POST / HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      ['GET / HTTP/1.1\r\nHost: api.example.test\r\nHost: other.test\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: api.example.test\r\nX-Folded: a\r\n b\r\n\r\n', 400],
      ['\x16\x03\x01garbage\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: api.example.test\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
    ];
    for (const [raw, status] of cases) {
      const answer = await rawExchange(gw.http, raw);
      expect(answer.split('\r\n')[0], JSON.stringify(raw.slice(0, 60))).toBe(
        `HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : 'Request Header Fields Too Large'}`,
      );
      expect(answer.toLowerCase()).toContain('\r\nserver:');
    }
    expect((await request(gw.http, { host: 'api.example.test', agent: keepAlive })).status).toBe(200);
    keepAlive.destroy();
  });
});

/** Writes raw bytes, returns everything the gateway sent until it closed the connection. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(raw));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', (err) => (data ? resolve(data) : reject(err)));
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`connection not closed; got ${JSON.stringify(data)}`));
    });
  });
}
