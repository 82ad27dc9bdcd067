import { describe, expect, it } from 'vitest';
import { GatewayMetrics, type RequestEnded } from './gateway-metrics.js';

const P = 'ingress_gateway_';

const matched: RequestEnded = {
  namespace: 'dev',
  ingress: 'web',
  service: 'web-svc',
  host: 'example.com',
  path: '/api',
  method: 'GET',
  status: 200,
  durationSeconds: 0.02,
  upstreamSeconds: 0.015,
  requestBytes: 120,
  responseBytes: 2048,
};

/** The sample lines (no comments) of one metric family. */
function samples(body: string, name: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${P}${name}{`) || l.startsWith(`${P}${name} `));
}

describe('GatewayMetrics', () => {
  it('declares every metric of the design with its type', async () => {
    const m = new GatewayMetrics();
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const types: Record<string, string> = {
      requests_total: 'counter',
      request_duration_seconds: 'histogram',
      upstream_response_duration_seconds: 'histogram',
      request_size_bytes: 'histogram',
      response_size_bytes: 'histogram',
      config_last_reload_successful: 'gauge',
      config_reloads_total: 'counter',
      ssl_expire_time_seconds: 'gauge',
      upstream_endpoints: 'gauge',
      active_connections: 'gauge',
      unhonoured_annotations: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) {
      expect(body).toContain(`# TYPE ${P}${name} ${type}\n`);
    }
    // prom-client's default metrics are on the same registry.
    expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('labels request metrics with the matched rule, method and status', async () => {
    const m = new GatewayMetrics();
    m.requestEnded(matched);
    m.requestEnded(matched);
    m.requestEnded({ ...matched, status: 503, upstreamSeconds: undefined });
    const { body } = await m.render();
    const rule = 'namespace="dev",ingress="web",service="web-svc"';
    expect(samples(body, 'requests_total')).toEqual([
      `${P}requests_total{${rule},host="example.com",path="/api",method="GET",status="200"} 2`,
      `${P}requests_total{${rule},host="example.com",path="/api",method="GET",status="503"} 1`,
    ]);
    expect(body).toContain(
      `${P}request_duration_seconds_bucket{le="0.025",${rule},host="example.com",path="/api",method="GET",status="200"} 2`,
    );
    expect(body).toContain(
      `${P}request_duration_seconds_count{${rule},host="example.com",path="/api",method="GET",status="503"} 1`,
    );
    // The 503 had no upstream time: two observations only.
    expect(body).toContain(`${P}upstream_response_duration_seconds_count{${rule}} 2`);
    expect(body).toContain(`${P}upstream_response_duration_seconds_bucket{le="0.005",${rule}} 0`);
    expect(body).toContain(`${P}upstream_response_duration_seconds_bucket{le="10",${rule}} 2`);
    expect(body).toContain(`${P}request_size_bytes_count{${rule}} 3`);
    expect(body).toContain(`${P}request_size_bytes_sum{${rule}} 360`);
    expect(body).toContain(`${P}request_size_bytes_bucket{le="100",${rule}} 0`);
    expect(body).toContain(`${P}request_size_bytes_bucket{le="1000",${rule}} 3`);
    expect(body).toContain(`${P}response_size_bytes_bucket{le="10000000",${rule}} 3`);
    expect(body).toContain(`${P}response_size_bytes_sum{${rule}} 6144`);
  });

  it('uses ingress-nginx buckets', async () => {
    const m = new GatewayMetrics();
    m.requestEnded(matched);
    const { body } = await m.render();
    const le = (name: string) =>
      samples(body, `${name}_bucket`).map((l) => /le="([^"]+)"/.exec(l)?.[1] ?? '?');
    expect(le('request_duration_seconds')).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    expect(le('upstream_response_duration_seconds')).toEqual(le('request_duration_seconds'));
    expect(le('request_size_bytes')).toEqual([
      '10',
      '100',
      '1000',
      '10000',
      '100000',
      '1000000',
      '10000000',
      '+Inf',
    ]);
    expect(le('response_size_bytes')).toEqual(le('request_size_bytes'));
  });

  it('counts unmatched requests with empty rule labels', async () => {
    const m = new GatewayMetrics();
    m.requestEnded({
      namespace: '',
      ingress: '',
      service: '',
      host: '',
      path: '',
      method: 'GET',
      status: 404,
      durationSeconds: 0.001,
      requestBytes: 80,
      responseBytes: 150,
    });
    const { body } = await m.render();
    expect(samples(body, 'requests_total')).toEqual([
      `${P}requests_total{namespace="",ingress="",service="",host="",path="",method="GET",status="404"} 1`,
    ]);
    expect(body).toContain(`${P}response_size_bytes_count{namespace="",ingress="",service=""} 1`);
    expect(body).not.toContain(`${P}upstream_response_duration_seconds_count`);
  });

  describe('retainIngresses', () => {
    const REQUEST_METRICS = [
      'requests_total',
      'request_duration_seconds_count',
      'upstream_response_duration_seconds_count',
      'request_size_bytes_count',
      'response_size_bytes_count',
    ];
    const api: RequestEnded = { ...matched, ingress: 'api', service: 'api-svc', path: '/v1' };
    const other: RequestEnded = { ...matched, namespace: 'prod' }; // same name, another namespace
    const unmatched: RequestEnded = {
      ...matched,
      namespace: '',
      ingress: '',
      service: '',
      host: '',
      path: '',
      status: 404,
      upstreamSeconds: undefined,
    };

    /** The (namespace, ingress) pairs that still have a sample in each request metric. */
    async function ingressesIn(m: GatewayMetrics): Promise<Record<string, string[]>> {
      const { body } = await m.render();
      const out: Record<string, string[]> = {};
      for (const name of REQUEST_METRICS) {
        const pairs = samples(body, name).map((l) => {
          const ns = /namespace="([^"]*)"/.exec(l)?.[1];
          const ing = /ingress="([^"]*)"/.exec(l)?.[1];
          return `${ns}/${ing}`;
        });
        out[name] = [...new Set(pairs)].sort();
      }
      return out;
    }

    function every(pairs: string[]): Record<string, string[]> {
      return Object.fromEntries(REQUEST_METRICS.map((n) => [n, pairs]));
    }

    it('removes every request series of an Ingress that is gone, keeping the others and the unmatched', async () => {
      const m = new GatewayMetrics();
      for (const r of [matched, { ...matched, status: 502 }, { ...matched, method: 'POST' }, api, other]) {
        m.requestEnded(r);
      }
      m.requestEnded(unmatched);
      expect(await ingressesIn(m)).toEqual({
        ...every(['/', 'dev/api', 'dev/web', 'prod/web']),
        // The unmatched 404 had no upstream.
        upstream_response_duration_seconds_count: ['dev/api', 'dev/web', 'prod/web'],
      });

      await m.retainIngresses([
        { namespace: 'dev', ingress: 'api' },
        { namespace: 'prod', ingress: 'web' },
      ]);
      expect(await ingressesIn(m)).toEqual({
        ...every(['/', 'dev/api', 'prod/web']),
        upstream_response_duration_seconds_count: ['dev/api', 'prod/web'],
      });
      const { body } = await m.render();
      expect(body).not.toMatch(/namespace="dev",ingress="web"/);
      // The kept series keep their counts.
      expect(samples(body, 'requests_total')).toContain(
        `${P}requests_total{namespace="prod",ingress="web",service="web-svc",host="example.com",path="/api",method="GET",status="200"} 1`,
      );
      expect(body).toContain(`${P}response_size_bytes_count{namespace="",ingress="",service=""} 1`);
      // Other metrics are untouched.
      expect(samples(body, 'config_reloads_total')).toHaveLength(2);
    });

    it('keeps the unmatched series even when no Ingress is left', async () => {
      const m = new GatewayMetrics();
      m.requestEnded(matched);
      m.requestEnded(unmatched);
      await m.retainIngresses([]);
      const { body } = await m.render();
      expect(samples(body, 'requests_total')).toEqual([
        `${P}requests_total{namespace="",ingress="",service="",host="",path="",method="GET",status="404"} 1`,
      ]);
      expect(samples(body, 'request_size_bytes_count')).toEqual([
        `${P}request_size_bytes_count{namespace="",ingress="",service=""} 1`,
      ]);
      expect(samples(body, 'upstream_response_duration_seconds_count')).toEqual([]);
    });

    it('accepts any iterable of routes, duplicates included', async () => {
      const m = new GatewayMetrics();
      m.requestEnded(matched);
      m.requestEnded(api);
      function* routes() {
        yield { namespace: 'dev', ingress: 'web', service: 'web-svc', host: 'a', path: '/' };
        yield { namespace: 'dev', ingress: 'web', service: 'web-svc', host: 'b', path: '/' };
      }
      await m.retainIngresses(routes());
      expect(await ingressesIn(m)).toEqual(every(['dev/web']));
    });

    it('counts an Ingress that was removed and added again from zero', async () => {
      const m = new GatewayMetrics();
      m.requestEnded(matched);
      m.requestEnded(matched);
      m.requestEnded(matched);
      await m.retainIngresses([]);
      expect(await ingressesIn(m)).toEqual(every([]));
      await m.retainIngresses([{ namespace: 'dev', ingress: 'web' }]);
      m.requestEnded(matched);
      const { body } = await m.render();
      const rule = 'namespace="dev",ingress="web",service="web-svc"';
      expect(samples(body, 'requests_total')).toEqual([
        `${P}requests_total{${rule},host="example.com",path="/api",method="GET",status="200"} 1`,
      ]);
      expect(body).toContain(`${P}upstream_response_duration_seconds_count{${rule}} 1`);
      expect(body).toContain(`${P}request_size_bytes_sum{${rule}} 120`);
      expect(body).toContain(`${P}response_size_bytes_count{${rule}} 1`);
    });

    it('is done before the event loop handles anything else, so the caller need not wait', async () => {
      const m = new GatewayMetrics();
      m.requestEnded(matched);
      void m.retainIngresses([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(await ingressesIn(m)).toEqual(every([]));
    });

    it('changes nothing when every Ingress is still live', async () => {
      const m = new GatewayMetrics();
      m.requestEnded(matched);
      m.requestEnded(api);
      const before = (await m.render()).body;
      await m.retainIngresses([
        { namespace: 'dev', ingress: 'web' },
        { namespace: 'dev', ingress: 'api' },
        { namespace: 'dev', ingress: 'unused' },
      ]);
      const after = (await m.render()).body;
      for (const name of REQUEST_METRICS) expect(samples(after, name)).toEqual(samples(before, name));
    });
  });

  it('counts reloads by result and exposes the last one', async () => {
    const m = new GatewayMetrics();
    let { body } = await m.render();
    expect(samples(body, 'config_reloads_total')).toEqual([
      `${P}config_reloads_total{result="success"} 0`,
      `${P}config_reloads_total{result="failure"} 0`,
    ]);
    m.reloaded(true);
    m.reloaded(false);
    m.reloaded(false);
    ({ body } = await m.render());
    expect(samples(body, 'config_reloads_total')).toEqual([
      `${P}config_reloads_total{result="success"} 1`,
      `${P}config_reloads_total{result="failure"} 2`,
    ]);
    expect(samples(body, 'config_last_reload_successful')).toEqual([`${P}config_last_reload_successful 0`]);
    m.reloaded(true);
    ({ body } = await m.render());
    expect(samples(body, 'config_last_reload_successful')).toEqual([`${P}config_last_reload_successful 1`]);
  });

  it('replaces upstream endpoint counts, dropping removed Services', async () => {
    const m = new GatewayMetrics();
    m.setUpstreamEndpoints([
      { namespace: 'dev', service: 'web', count: 3 },
      { namespace: 'dev', service: 'api', count: 0 },
    ]);
    let { body } = await m.render();
    expect(samples(body, 'upstream_endpoints')).toEqual([
      `${P}upstream_endpoints{namespace="dev",service="web"} 3`,
      `${P}upstream_endpoints{namespace="dev",service="api"} 0`,
    ]);
    m.setUpstreamEndpoints([{ namespace: 'dev', service: 'api', count: 2 }]);
    ({ body } = await m.render());
    expect(samples(body, 'upstream_endpoints')).toEqual([
      `${P}upstream_endpoints{namespace="dev",service="api"} 2`,
    ]);
    m.setUpstreamEndpoints([]);
    ({ body } = await m.render());
    expect(samples(body, 'upstream_endpoints')).toEqual([]);
  });

  it.each([
    {
      name: 'a changed count, others untouched',
      full: [
        { namespace: 'dev', service: 'web', count: 3 },
        { namespace: 'dev', service: 'api', count: 1 },
      ],
      changes: [{ namespace: 'dev', service: 'web', count: 0 }],
      expected: ['{namespace="dev",service="web"} 0', '{namespace="dev",service="api"} 1'],
    },
    {
      name: 'an unchanged count',
      full: [{ namespace: 'dev', service: 'web', count: 3 }],
      changes: [{ namespace: 'dev', service: 'web', count: 3 }],
      expected: ['{namespace="dev",service="web"} 3'],
    },
    {
      name: 'a Service listed per port: the last count wins',
      full: [{ namespace: 'dev', service: 'web', count: 3 }],
      changes: [
        { namespace: 'dev', service: 'web', count: 1 },
        { namespace: 'dev', service: 'web', count: 2 },
      ],
      expected: ['{namespace="dev",service="web"} 2'],
    },
    {
      name: 'a Service without a series yet',
      full: [],
      changes: [{ namespace: 'prod', service: 'web', count: 4 }],
      expected: ['{namespace="prod",service="web"} 4'],
    },
  ])('updates only the upstream endpoint counts given: $name', async ({ full, changes, expected }) => {
    const m = new GatewayMetrics();
    m.setUpstreamEndpoints(full);
    m.updateUpstreamEndpoints(changes);
    const { body } = await m.render();
    expect(samples(body, 'upstream_endpoints')).toEqual(expected.map((s) => `${P}upstream_endpoints${s}`));
  });

  it('diffs a full upstream endpoint replacement against what an update left', async () => {
    const m = new GatewayMetrics();
    m.setUpstreamEndpoints([
      { namespace: 'dev', service: 'web', count: 3 },
      { namespace: 'dev', service: 'api', count: 1 },
    ]);
    m.updateUpstreamEndpoints([{ namespace: 'dev', service: 'web', count: 5 }]);
    // The same list again: web goes back to 3 although the list did not change since the last full call.
    m.setUpstreamEndpoints([
      { namespace: 'dev', service: 'web', count: 3 },
      { namespace: 'dev', service: 'api', count: 1 },
    ]);
    let { body } = await m.render();
    expect(samples(body, 'upstream_endpoints')).toEqual([
      `${P}upstream_endpoints{namespace="dev",service="web"} 3`,
      `${P}upstream_endpoints{namespace="dev",service="api"} 1`,
    ]);
    m.setUpstreamEndpoints([
      { namespace: 'dev', service: 'web', count: 1 },
      { namespace: 'dev', service: 'web', count: 0 },
    ]);
    ({ body } = await m.render());
    expect(samples(body, 'upstream_endpoints')).toEqual([
      `${P}upstream_endpoints{namespace="dev",service="web"} 0`,
    ]);
  });

  it('replaces certificate expiries, dropping removed certificates', async () => {
    const m = new GatewayMetrics();
    m.setCertificateExpiry([
      { namespace: 'dev', secretName: 'tls-a', host: 'a.example.com', notAfter: 1_900_000_000 },
      { namespace: 'dev', secretName: 'tls-a', host: '*.example.com', notAfter: 1_900_000_000 },
      { namespace: 'prod', secretName: 'tls-b', host: 'b.example.com', notAfter: 1_800_000_000 },
    ]);
    let { body } = await m.render();
    expect(samples(body, 'ssl_expire_time_seconds')).toEqual([
      `${P}ssl_expire_time_seconds{namespace="dev",secret_name="tls-a",host="a.example.com"} 1900000000`,
      `${P}ssl_expire_time_seconds{namespace="dev",secret_name="tls-a",host="*.example.com"} 1900000000`,
      `${P}ssl_expire_time_seconds{namespace="prod",secret_name="tls-b",host="b.example.com"} 1800000000`,
    ]);
    m.setCertificateExpiry([
      { namespace: 'prod', secretName: 'tls-b', host: 'b.example.com', notAfter: 1_850_000_000 },
    ]);
    ({ body } = await m.render());
    expect(samples(body, 'ssl_expire_time_seconds')).toEqual([
      `${P}ssl_expire_time_seconds{namespace="prod",secret_name="tls-b",host="b.example.com"} 1850000000`,
    ]);
  });

  it('tracks active connections per scheme', async () => {
    const m = new GatewayMetrics();
    m.connectionOpened('http');
    m.connectionOpened('http');
    m.connectionOpened('https');
    m.connectionClosed('http');
    const { body } = await m.render();
    expect(samples(body, 'active_connections')).toEqual([
      `${P}active_connections{scheme="http"} 1`,
      `${P}active_connections{scheme="https"} 1`,
    ]);
  });

  it('gives each instance its own registry', async () => {
    const a = new GatewayMetrics();
    const b = new GatewayMetrics();
    a.reloaded(true);
    expect(samples((await b.render()).body, 'config_reloads_total')).toContain(
      `${P}config_reloads_total{result="success"} 0`,
    );
  });

  describe('setUnhonouredAnnotations', () => {
    const known = new Set(['auth-url', 'proxy-body-size', 'canary']);
    const table: Array<{ name: string; reloads: Array<Array<[string, number]>>; expected: string[] }> = [
      {
        name: 'one series per annotation, in the order given',
        reloads: [
          [
            ['auth-url', 2],
            ['proxy-body-size', 1],
          ],
        ],
        expected: ['annotation="auth-url"} 2', 'annotation="proxy-body-size"} 1'],
      },
      {
        name: 'names outside the known set count as unknown, never as themselves',
        reloads: [
          [
            ['auth-url', 1],
            ['<script>', 1],
            ['unknown', 2],
            ['x'.repeat(300), 1],
          ],
        ],
        expected: ['annotation="auth-url"} 1', 'annotation="unknown"} 4'],
      },
      {
        name: 'a reload replaces the series: dropped and zero counts disappear',
        reloads: [
          [
            ['auth-url', 2],
            ['canary', 1],
          ],
          [
            ['canary', 0],
            ['proxy-body-size', 3],
          ],
        ],
        expected: ['annotation="proxy-body-size"} 3'],
      },
      { name: 'nothing unhonoured: no series', reloads: [[['auth-url', 1]], []], expected: [] },
    ];
    it.each(table)('$name', async ({ reloads, expected }) => {
      const m = new GatewayMetrics();
      for (const counts of reloads) m.setUnhonouredAnnotations(new Map(counts), known);
      const { body } = await m.render();
      expect(samples(body, 'unhonoured_annotations')).toEqual(
        expected.map((e) => `${P}unhonoured_annotations{${e}`),
      );
    });
  });
});

describe('config_diagnostics', () => {
  it('counts the current configuration’s problems by kind and severity, bounded, replacing the last', async () => {
    const m = new GatewayMetrics();
    m.setDiagnostics([
      { kind: 'Ingress', severity: 'warning' },
      { kind: 'Ingress', severity: 'warning' },
      { kind: 'Secret', severity: 'error' },
      { kind: 'Pod', severity: 'error' },
      { severity: 'error' },
    ]);
    expect(samples((await m.render()).body, 'config_diagnostics').sort()).toEqual([
      `${P}config_diagnostics{kind="",severity="error"} 1`,
      `${P}config_diagnostics{kind="Ingress",severity="warning"} 2`,
      `${P}config_diagnostics{kind="Secret",severity="error"} 1`,
      `${P}config_diagnostics{kind="other",severity="error"} 1`,
    ]);
    m.setDiagnostics([{ kind: 'Service', severity: 'warning' }]);
    expect(samples((await m.render()).body, 'config_diagnostics')).toEqual([
      `${P}config_diagnostics{kind="Service",severity="warning"} 1`,
    ]);
  });
});

describe('several processes (--workers N)', () => {
  it('sums the workers’ traffic and reports each configuration metric once, from the primary', async () => {
    const primary = new GatewayMetrics({ scope: 'configuration' });
    const workers = [new GatewayMetrics({ scope: 'traffic' }), new GatewayMetrics({ scope: 'traffic' })];
    primary.reloaded(true);
    primary.setUpstreamEndpoints([{ namespace: 'dev', service: 'web-svc', count: 3 }]);
    primary.setCertificateExpiry([{ namespace: 'dev', secretName: 'tls', host: 'a.test', notAfter: 2e9 }]);
    workers[0]!.requestEnded(matched);
    workers[0]!.requestEnded(matched);
    workers[1]!.requestEnded(matched);
    workers[0]!.connectionOpened('http');
    workers[1]!.connectionOpened('http');
    workers[1]!.connectionOpened('https');

    // A worker exports no configuration metric, the primary no traffic metric.
    const own = await workers[0]!.render();
    expect(samples(own.body, 'config_last_reload_successful')).toEqual([]);
    expect(samples(own.body, 'upstream_endpoints')).toEqual([]);
    expect(samples((await primary.render()).body, 'active_connections')).toEqual([]);

    const { body } = await primary.renderAggregate(await Promise.all(workers.map((w) => w.snapshot())));
    const rule = 'namespace="dev",ingress="web",service="web-svc"';
    expect(samples(body, 'requests_total')).toEqual([
      `${P}requests_total{${rule},host="example.com",path="/api",method="GET",status="200"} 3`,
    ]);
    expect(samples(body, 'request_duration_seconds_count')).toEqual([
      `${P}request_duration_seconds_count{${rule},host="example.com",path="/api",method="GET",status="200"} 3`,
    ]);
    expect(samples(body, 'active_connections')).toEqual([
      `${P}active_connections{scheme="http"} 2`,
      `${P}active_connections{scheme="https"} 1`,
    ]);
    expect(samples(body, 'config_last_reload_successful')).toEqual([`${P}config_last_reload_successful 1`]);
    expect(samples(body, 'config_reloads_total')).toEqual([
      `${P}config_reloads_total{result="success"} 1`,
      `${P}config_reloads_total{result="failure"} 0`,
    ]);
    expect(samples(body, 'upstream_endpoints')).toEqual([
      `${P}upstream_endpoints{namespace="dev",service="web-svc"} 3`,
    ]);
    expect(samples(body, 'ssl_expire_time_seconds')).toEqual([
      `${P}ssl_expire_time_seconds{namespace="dev",secret_name="tls",host="a.test"} 2000000000`,
    ]);
    // The gateway's start time is the primary's, not a sum over processes.
    const start = body.split('\n').find((l) => l.startsWith('process_start_time_seconds '));
    const own0 = (await primary.render()).body
      .split('\n')
      .find((l) => l.startsWith('process_start_time_seconds '));
    expect(start).toBe(own0);
  });
});
