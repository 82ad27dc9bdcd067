// Black-box: when an Ingress leaves the configuration, /metrics drops its request series (as
// ingress-nginx does), keeping those of the Ingresses still served and the unmatched ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, replaceConfig, service, slice, tempConfig, toYaml } from './support/manifests.js';

let gw: GatewayProcess;
let pods: Awaited<ReturnType<typeof startPods>>;
let file: string;

const REQUEST_METRICS = [
  'requests_total',
  'request_duration_seconds',
  'upstream_response_duration_seconds',
  'request_size_bytes',
  'response_size_bytes',
];

function objects(withOld: boolean): object[] {
  return [
    service('keep', 'app'),
    slice(
      'keep',
      'app',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    ingress('keep', 'stays', [{ host: 'stays.example.test', service: 'app' }]),
    ...(withOld
      ? [ingress('keep', 'goes', [{ host: 'goes.example.test', path: '/old', service: 'app' }])]
      : []),
  ];
}

/** Sample lines of the request metrics (families, with _bucket/_sum/_count) of one Ingress. */
function seriesOf(text: string, namespace: string, name: string): string[] {
  return text
    .split('\n')
    .filter(
      (l) =>
        REQUEST_METRICS.some((m) => l.startsWith(`ingress_gateway_${m}`)) &&
        l.includes(`namespace="${namespace}",ingress="${name}"`),
    );
}

beforeAll(async () => {
  pods = await startPods('ret', ['127.0.60.1', '127.0.60.2']);
  ({ file } = await tempConfig(objects(true)));
  gw = await startGateway(['--config', file, '--no-access-log']);
});

afterAll(async () => {
  await gw?.stop();
  await pods?.close();
});

it('drops the series of a deleted Ingress on reload, keeping the others', async () => {
  expect((await request(gw.http, { host: 'stays.example.test', path: '/' })).status).toBe(200);
  expect((await request(gw.http, { host: 'goes.example.test', path: '/old/x' })).status).toBe(200);
  expect((await request(gw.http, { host: 'nobody.example.test', path: '/' })).status).toBe(404);

  let text = (await request(gw.metrics, { path: '/metrics' })).body;
  for (const name of ['stays', 'goes']) {
    // Every one of the five families has series for both Ingresses before the reload.
    const lines = seriesOf(text, 'keep', name);
    for (const m of REQUEST_METRICS)
      expect(lines.some((l) => l.startsWith(`ingress_gateway_${m}`))).toBe(true);
  }

  const applied = gw.logs.filter((l) => l.msg === 'configuration applied').length;
  await replaceConfig(file, toYaml(objects(false)));
  await gw.waitForLog(
    (l) =>
      l.msg === 'configuration applied' &&
      gw.logs.filter((x) => x.msg === 'configuration applied').length > applied,
  );

  text = (await request(gw.metrics, { path: '/metrics' })).body;
  expect(seriesOf(text, 'keep', 'goes')).toEqual([]);
  expect(text).not.toContain('ingress="goes"');
  expect(text).not.toContain('goes.example.test');
  expect(text).toMatch(
    /ingress_gateway_requests_total\{namespace="keep",ingress="stays",service="app",host="stays.example.test",path="\/",method="GET",status="200"\} 1/,
  );
  expect(seriesOf(text, 'keep', 'stays').length).toBeGreaterThan(REQUEST_METRICS.length);
  expect(text).toMatch(/ingress_gateway_requests_total\{namespace="",ingress="",[^}]*status="404"\} 1/);
  // The reload itself is counted as before.
  expect(text).toMatch(/ingress_gateway_config_reloads_total\{result="success"\} 2/);

  // The Ingress that is gone now answers 404 like any unknown host: counted as unmatched, not as its own.
  expect((await request(gw.http, { host: 'goes.example.test', path: '/old/x' })).status).toBe(404);
  text = (await request(gw.metrics, { path: '/metrics' })).body;
  expect(text).not.toContain('ingress="goes"');
  expect(text).toMatch(/ingress_gateway_requests_total\{namespace="",ingress="",[^}]*status="404"\} 2/);
});
