// Black-box: /metrics, /healthz, /readyz, and graceful shutdown on SIGTERM.
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';

let gw: GatewayProcess;
let pods: Awaited<ReturnType<typeof startPods>>;

beforeAll(async () => {
  pods = await startPods('m', ['127.0.10.1', '127.0.10.2']);
  const { file } = await tempConfig([
    service('obs', 'm'),
    slice(
      'obs',
      'm',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    ingress('obs', 'm', [{ host: 'm.example.test', path: '/api', service: 'm' }]),
  ]);
  gw = await startGateway(['--config', file, '--shutdown-timeout', '10']);
});

afterAll(async () => {
  await gw?.stop('SIGKILL');
  await pods?.close();
});

it('answers /healthz and /readyz', async () => {
  expect((await request(gw.metrics, { path: '/healthz' })).status).toBe(200);
  expect((await request(gw.metrics, { path: '/readyz' })).status).toBe(200);
});

it('exports every metric of the design with labels from the matched rule, never from the request', async () => {
  await request(gw.http, { host: 'm.example.test', path: '/api/users/12345' });
  await request(gw.http, { host: 'random-1234.example.test', path: '/whatever/987' });
  const text = (await request(gw.metrics, { path: '/metrics' })).body;
  for (const name of [
    'requests_total',
    'request_duration_seconds',
    'upstream_response_duration_seconds',
    'request_size_bytes',
    'response_size_bytes',
    'config_last_reload_successful',
    'config_reloads_total',
    'ssl_expire_time_seconds',
    'upstream_endpoints',
    'active_connections',
  ]) {
    expect(text).toContain(`# TYPE ingress_gateway_${name}`);
  }
  expect(text).toMatch(
    /ingress_gateway_requests_total\{[^}]*namespace="obs"[^}]*ingress="m"[^}]*service="m"[^}]*host="m.example.test"[^}]*path="\/api"[^}]*status="200"[^}]*\} 1/,
  );
  expect(text).toMatch(
    /ingress_gateway_requests_total\{[^}]*namespace=""[^}]*host=""[^}]*path=""[^}]*status="404"[^}]*\} 1/,
  );
  // Request data would leak into label values; sample values are numbers and may hold any digits
  // (an event-loop lag of 0.012345 s once matched '12345').
  const labelSets = text.match(/\{[^}]*\}/g) ?? [];
  expect(labelSets.length).toBeGreaterThan(10);
  for (const leaked of ['random-1234', '12345', '/whatever/987']) {
    expect(labelSets.filter((l) => l.includes(leaked))).toEqual([]);
  }
  expect(text).toMatch(/ingress_gateway_upstream_endpoints\{namespace="obs",service="m"\} 2/);
  expect(text).toContain('process_cpu_user_seconds_total');
});

it('on SIGTERM finishes in-flight requests, then exits 0', async () => {
  const inFlight = Promise.race(pods.pods.map((p) => once(p.server, 'request')));
  const slow = new Promise<{ status: number; length: number }>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port: gw.http,
          path: '/api/stream?chunks=20&intervalMs=50',
          headers: { host: 'm.example.test' },
        },
        (res) => {
          let length = 0;
          res.on('data', (d: Buffer) => {
            length += d.length;
          });
          res.on('end', () => resolve({ status: res.statusCode!, length }));
          res.on('error', reject);
        },
      )
      .on('error', reject);
  });
  // Wait until the request is in flight at a pod before signalling.
  await inFlight;
  const code = gw.stop('SIGTERM');
  const answer = await slow;
  expect(answer).toEqual({ status: 200, length: 20 * 1024 });
  expect(await code).toBe(0);
});
