// Black-box: the built CLI in cluster mode (--kubeconfig) against the API-server fixture. Every kind's
// create/update/delete reaches traffic; an EndpointSlice change swaps endpoints alone (affinity
// survives); a Secret rotation reaches new handshakes; the watch survives 410s, restarts and outages.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { certificateFor } from './support/certificates.js';
import { type Cluster, eventually, readyz, startCluster, startClusterGateway } from './support/cluster.js';
import { type GatewayProcess, runCli } from './support/gateway-process.js';
import { httpsRequest, request } from './support/http-client.js';
import { ingress, service, slice, tlsSecret } from './support/manifests.js';

const OUR_CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'gateway', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'k8s.io/ingress-gateway' },
};

type Pods = Awaited<ReturnType<typeof startPods>>;
let blue: Pods;
let green: Pods;

beforeAll(async () => {
  blue = await startPods('blue', ['127.0.12.1', '127.0.12.2']);
  green = await startPods('green', ['127.0.13.1']);
});
afterAll(async () => {
  await blue?.close();
  await green?.close();
});

const podOf = async (port: number, host: string, localAddress?: string): Promise<string | undefined> => {
  const r = await request(port, { host, ...(localAddress ? { localAddress } : {}) });
  return r.status === 200 ? (JSON.parse(r.body).pod as string) : `status ${r.status}`;
};

const countLogs = (gw: GatewayProcess, msg: string) => gw.logs.filter((l) => l.msg === msg).length;

describe('cluster mode: changes reach traffic', () => {
  let cluster: Cluster;
  let gw: GatewayProcess;

  beforeAll(async () => {
    cluster = await startCluster([
      OUR_CLASS,
      service('app', 'web'),
      slice('app', 'web', blue.port, ['127.0.12.1']),
      ingress('app', 'web', [{ host: 'web.test', service: 'web' }]),
    ]);
    gw = await startClusterGateway(cluster);
    await gw.waitForLog((l) => l.msg === 'synced: ready');
  });
  afterAll(async () => {
    await gw?.stop();
    await cluster?.stop();
  });

  it('is ready once synced, and serves the cluster', async () => {
    expect(await readyz(gw)).toBe(200);
    expect(await podOf(gw.http, 'web.test')).toBe('blue-0');
  });

  it('an Ingress created, updated and deleted', async () => {
    cluster.api.apply(ingress('app', 'api', [{ host: 'api.test', service: 'web' }]));
    await eventually(async () => (await podOf(gw.http, 'api.test')) === 'blue-0', 'the new Ingress');
    cluster.api.apply(ingress('app', 'api', [{ host: 'api.test', path: '/v2', service: 'web' }]));
    await eventually(async () => (await request(gw.http, { host: 'api.test' })).status === 404, 'the update');
    expect(await podOf(gw.http, 'api.test', undefined)).toBe('status 404');
    cluster.api.remove('ingresses.networking.k8s.io', 'app', 'api');
    await eventually(
      async () => (await request(gw.http, { host: 'api.test', path: '/v2' })).status === 404,
      'the deletion',
    );
  });

  it('a Service created after its Ingress, and deleted', async () => {
    cluster.api.apply(ingress('app', 'late', [{ host: 'late.test', service: 'late' }]));
    await eventually(
      async () => (await request(gw.http, { host: 'late.test' })).status === 503,
      'no Service: 503',
    );
    cluster.api.apply(service('app', 'late'));
    cluster.api.apply(slice('app', 'late', green.port, ['127.0.13.1']));
    await eventually(async () => (await podOf(gw.http, 'late.test')) === 'green-0', 'the Service');
    cluster.api.remove('services', 'app', 'late');
    await eventually(async () => (await request(gw.http, { host: 'late.test' })).status === 503, 'deleted');
  });

  it('an EndpointSlice change swaps endpoints only; ClientIP affinity survives it', async () => {
    const sticky = {
      ...(service('app', 'sticky') as { spec: object }),
      metadata: { name: 'sticky', namespace: 'app' },
      spec: { ...(service('app', 'sticky') as { spec: object }).spec, sessionAffinity: 'ClientIP' },
    };
    cluster.api.apply(sticky);
    cluster.api.apply(slice('app', 'sticky', blue.port, ['127.0.12.1', '127.0.12.2']));
    cluster.api.apply(ingress('app', 'sticky', [{ host: 'sticky.test', service: 'sticky' }]));
    const client = '127.0.31.7';
    const { value: pinned } = await eventually(async () => {
      const p = await podOf(gw.http, 'sticky.test', client);
      return p?.startsWith('blue-') ? p : undefined;
    }, 'the sticky Ingress');
    const compiles = countLogs(gw, 'configuration applied');
    const swaps = countLogs(gw, 'endpoints applied');
    // A third endpoint joins: routes are not recompiled, and the client stays where it was pinned.
    cluster.api.apply(slice('app', 'sticky', blue.port, ['127.0.12.1', '127.0.12.2', '127.0.13.1']));
    await gw.waitForLog(() => countLogs(gw, 'endpoints applied') > swaps);
    expect(countLogs(gw, 'configuration applied')).toBe(compiles);
    for (let i = 0; i < 10; i++) expect(await podOf(gw.http, 'sticky.test', client)).toBe(pinned);
    // The endpoints move elsewhere: traffic follows.
    cluster.api.apply(slice('app', 'web', green.port, ['127.0.13.1']));
    await eventually(async () => (await podOf(gw.http, 'web.test')) === 'green-0', 'the moved endpoints');
    cluster.api.apply(slice('app', 'web', blue.port, ['127.0.12.1']));
    await eventually(async () => (await podOf(gw.http, 'web.test')) === 'blue-0', 'moved back');
  });

  it('a TLS Secret rotation reaches new handshakes', async () => {
    const first = await certificateFor(['secure.test']);
    const second = await certificateFor(['secure.test']);
    cluster.api.apply(tlsSecret('app', 'secure-tls', first.cert, first.key));
    cluster.api.apply(
      ingress('app', 'secure', [{ host: 'secure.test', service: 'web' }], {
        tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }],
      }),
    );
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const served = async () =>
      (await httpsRequest(gw.https, { servername: 'secure.test' })).peerCertificate.fingerprint256;
    await eventually(async () => (await served()) === fingerprint(first.cert), 'the first certificate');
    expect((await request(gw.http, { host: 'secure.test' })).status).toBe(308);
    cluster.api.apply(tlsSecret('app', 'secure-tls', second.cert, second.key));
    await eventually(async () => (await served()) === fingerprint(second.cert), 'the rotated certificate');
  });

  it('an invalid object is left out, logged once and counted; the others are served', async () => {
    const bad = ingress('app', 'bad', [{ host: 'bad.test', service: 'web' }]) as {
      spec: { rules: Array<{ http: { paths: Array<{ pathType: string }> } }> };
    };
    bad.spec.rules[0]!.http.paths[0]!.pathType = 'Sometimes';
    cluster.api.apply(bad);
    const mentions = () => gw.logs.filter((l) => String(l.msg).includes('Ingress app/bad')).length;
    await gw.waitForLog((l) =>
      String(l.msg).includes('Ingress app/bad: spec.rules[0].http.paths[0].pathType'),
    );
    // Another rebuild: the problem is not logged again.
    const compiles = countLogs(gw, 'configuration applied');
    cluster.api.apply(ingress('app', 'fine', [{ host: 'fine.test', service: 'web' }]));
    await eventually(async () => (await podOf(gw.http, 'fine.test')) === 'blue-0', 'the next Ingress');
    expect(countLogs(gw, 'configuration applied')).toBeGreaterThan(compiles);
    expect(mentions()).toBe(1);
    expect((await request(gw.http, { host: 'bad.test' })).status).toBe(404);
    const metrics = (await request(gw.metrics, { path: '/metrics' })).body;
    expect(metrics).toMatch(/ingress_gateway_config_diagnostics\{kind="Ingress",severity="error"\} [1-9]/);
    cluster.api.remove('ingresses.networking.k8s.io', 'app', 'bad');
    cluster.api.remove('ingresses.networking.k8s.io', 'app', 'fine');
  });

  it('IngressClass: another controller’s class is not served; the legacy annotation is read', async () => {
    cluster.api.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'nginx' },
      spec: { controller: 'k8s.io/ingress-nginx' },
    });
    cluster.api.apply(
      ingress('app', 'theirs', [{ host: 'theirs.test', service: 'web' }], { ingressClassName: 'nginx' }),
    );
    cluster.api.apply(
      ingress('app', 'ours', [{ host: 'ours.test', service: 'web' }], { ingressClassName: 'gateway' }),
    );
    await eventually(async () => (await podOf(gw.http, 'ours.test')) === 'blue-0', 'our class');
    expect((await request(gw.http, { host: 'theirs.test' })).status).toBe(404);
    const legacy = ingress('app', 'legacy', [{ host: 'legacy.test', service: 'web' }]) as {
      metadata: object;
    };
    cluster.api.apply({
      ...legacy,
      metadata: {
        name: 'legacy',
        namespace: 'app',
        annotations: { 'kubernetes.io/ingress.class': 'gateway' },
      },
    });
    await eventually(async () => (await podOf(gw.http, 'legacy.test')) === 'blue-0', 'the legacy annotation');
    // The default class moves elsewhere: class-less Ingresses are not ours any more.
    cluster.api.apply({ ...OUR_CLASS, metadata: { name: 'gateway' } });
    await eventually(
      async () => (await request(gw.http, { host: 'web.test' })).status === 404,
      'no default class',
    );
    cluster.api.apply(OUR_CLASS);
    await eventually(async () => (await podOf(gw.http, 'web.test')) === 'blue-0', 'the default class again');
  });
});

describe('cluster mode: the watch survives', () => {
  let cluster: Cluster;
  let gw: GatewayProcess;

  beforeAll(async () => {
    cluster = await startCluster([
      service('app', 'web'),
      slice('app', 'web', blue.port, ['127.0.12.2']),
      ingress('app', 'a', [{ host: 'a.test', service: 'web' }]),
      ingress('app', 'b', [{ host: 'b.test', service: 'web' }]),
    ]);
    gw = await startClusterGateway(cluster);
    await gw.waitForLog((l) => l.msg === 'synced: ready');
  });
  afterAll(async () => {
    await gw?.stop();
    await cluster?.stop();
  });

  it('an API server down for a while, compacted meanwhile (410): converges, nothing lost or resurrected', async () => {
    await cluster.api.down();
    cluster.api.remove('ingresses.networking.k8s.io', 'app', 'a');
    cluster.api.apply(ingress('app', 'c', [{ host: 'c.test', service: 'web' }]));
    cluster.api.compact();
    // The last good state keeps being served while the API server is away.
    expect(await podOf(gw.http, 'a.test')).toBe('blue-1');
    await cluster.api.up();
    await eventually(async () => (await podOf(gw.http, 'c.test')) === 'blue-1', 'c after the outage');
    await eventually(async () => (await request(gw.http, { host: 'a.test' })).status === 404, 'a deleted');
    expect(await podOf(gw.http, 'b.test')).toBe('blue-1');
    expect(await readyz(gw)).toBe(200);
  });

  it('an API server restart while objects change: converges', async () => {
    const restarted = cluster.api.restart();
    cluster.api.apply(ingress('app', 'd', [{ host: 'd.test', service: 'web' }]));
    await restarted;
    cluster.api.remove('ingresses.networking.k8s.io', 'app', 'b');
    cluster.api.dropWatches();
    cluster.api.apply(ingress('app', 'e', [{ host: 'e.test', service: 'web' }]));
    await eventually(async () => (await podOf(gw.http, 'e.test')) === 'blue-1', 'e');
    expect(await podOf(gw.http, 'd.test')).toBe('blue-1');
    await eventually(async () => (await request(gw.http, { host: 'b.test' })).status === 404, 'b deleted');
  });
});

describe('cluster mode: not allowed to list', () => {
  it('a 403 on a list: a log line naming verb and resource, a gateway that is live but not ready', async () => {
    const cluster = await startCluster([
      service('app', 'web'),
      ingress('app', 'web', [{ host: 'web.test', service: 'web' }]),
    ]);
    cluster.api.deny({ verb: 'list', resource: 'endpointslices' });
    const gw = await startClusterGateway(cluster);
    try {
      const line = await gw.waitForLog(
        (l) => l.level === 50 && l.resource === 'endpointslices.discovery.k8s.io',
      );
      expect(line.verb).toBe('list');
      expect(line.msg).toMatch(/cannot list endpointslices\.discovery\.k8s\.io: 403 Forbidden/);
      expect(await readyz(gw)).toBe(503);
      expect((await request(gw.metrics, { path: '/healthz' })).status).toBe(200);
      cluster.api.allow();
      await gw.waitForLog((l) => l.msg === 'synced: ready');
      expect(await readyz(gw)).toBe(200);
    } finally {
      await gw.stop();
      await cluster.stop();
    }
  });

  it('--check in cluster mode lists once and reports', async () => {
    const cluster = await startCluster([
      OUR_CLASS,
      service('app', 'web'),
      ingress('app', 'web', [{ host: 'web.test', service: 'web' }]),
      ingress('app', 'theirs', [{ host: 'x.test', service: 'web' }], { ingressClassName: 'nginx' }),
    ]);
    try {
      const { code, stdout } = await runCli(['--kubeconfig', cluster.kubeconfig, '--check']);
      expect(code).toBe(0);
      expect(stdout).toMatch(/Ingress app\/theirs: not ours, ignored: class "nginx"/);
      expect(stdout).toMatch(/configuration is valid: 1 rules/);
    } finally {
      await cluster.stop();
    }
  });
});
