// The cluster-mode scenarios of cluster-mode.test.ts and cluster-load.test.ts against a real kube-apiserver
// v1.20.2 (support/kube-apiserver.ts) instead of the fixture, the gateway running as deploy/'s
// ServiceAccount under deploy/'s RBAC: create, update and delete of every kind (EndpointSlices as
// discovery.k8s.io/v1beta1) reach traffic within 1 s (the time from the API server's answer to the first
// request showing the change is recorded and printed); a TLS Secret rotation; endpoint churn under
// keep-alive load with zero failed requests; etcd compacted with the watches dropped (the gateway paused
// across an API-server restart), so the resume from an old resourceVersion gets 410 Gone and only a
// re-list brings the changes (the API server's audit log of the gateway's calls shows both); the API
// server restarted while objects change. Changes are made as admin, one create or replace call each.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { certificateFor } from './support/certificates.js';
import { eventually, readyz } from './support/cluster.js';
import { type GatewayProcess, ROOT } from './support/gateway-process.js';
import { httpsRequest, request } from './support/http-client.js';
import { type RealApiServer, startRealApiServer } from './support/kube-apiserver.js';
import { ingress, service, tlsSecret } from './support/manifests.js';
import {
  apiRequest,
  del,
  GATEWAY_SA,
  GATEWAY_SA_USER,
  put,
  sliceV1beta1,
  startRealGateway,
} from './support/real-cluster.js';

const NS = 'app';
const CLASS = 'ingress-gateway'; // deploy/20-ingressclass.yaml: ours, not the default
type Pods = Awaited<ReturnType<typeof startPods>>;
let server: RealApiServer;
let blue: Pods;
let green: Pods;
let gw: GatewayProcess;
let auditDir: string;
const t0 = Date.now();
interface AuditEvent {
  verb: string;
  requestURI: string;
  stage: string;
  objectRef?: { resource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}
/** Milliseconds from the API server's answer to traffic showing the change. */
const reached: Record<string, number> = {};
const timings: Record<string, number> = {};

const ing = (name: string, host: string, svc: string, extra: Record<string, unknown> = {}) =>
  ingress(NS, name, [{ host, service: svc }], { ingressClassName: CLASS, ...extra });

beforeAll(async () => {
  const start = Date.now();
  // Audit of the gateway's own calls only (Metadata level): shows the informers' resume and re-list.
  auditDir = await mkdtemp(join(tmpdir(), 'real-audit-'));
  await writeFile(
    join(auditDir, 'policy.yaml'),
    `apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n    users: ["${GATEWAY_SA}"]\n  - level: None\n`,
  );
  [server, blue, green] = await Promise.all([
    startRealApiServer({
      users: [GATEWAY_SA_USER],
      apiServerArgs: [
        `--audit-policy-file=${join(auditDir, 'policy.yaml')}`,
        `--audit-log-path=${join(auditDir, 'audit.log')}`,
        '--audit-log-mode=blocking',
      ],
    }),
    startPods('blue', ['127.0.81.1', '127.0.81.2']),
    startPods('green', ['127.0.81.11', '127.0.81.12']),
  ]);
  timings.apiServerStart = Date.now() - start;
  for (const f of ['00-namespace', '10-serviceaccount', '11-clusterrole', '12-role', '20-ingressclass'])
    await server.kubectl(['apply', '-f', join(ROOT, 'deploy', `${f}.yaml`)]);
  await put(server, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const o of [
    service(NS, 'web'),
    sliceV1beta1(NS, 'web', blue.port, ['127.0.81.1']),
    ing('web', 'web.test', 'web'),
    ing('a', 'a.test', 'web'),
    ing('b', 'b.test', 'web'),
  ])
    await put(server, o);
  const synced = Date.now();
  gw = await startRealGateway(server, GATEWAY_SA, ['--no-access-log']);
  await gw.waitForLog((l) => l.msg === 'synced: ready', 15_000);
  timings.gatewaySync = Date.now() - synced;
}, 120_000);

afterAll(async () => {
  // What the gateway logged as errors over the whole file (API-server restarts included).
  const errors = [
    ...new Set((gw?.logs ?? []).filter((l) => Number(l.level) >= 50).map((l) => String(l.msg))),
  ];
  await gw?.stop();
  await server?.stop();
  await Promise.all([blue?.close(), green?.close()]);
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
  console.log(
    `real-apiserver-cluster: change → traffic (ms): ${JSON.stringify(reached)}\ntimings (ms): ${JSON.stringify({ ...timings, total: Date.now() - t0 })}\nerror lines: ${JSON.stringify(errors)}`,
  );
});

const podOf = async (host: string, path = '/'): Promise<string> => {
  const r = await request(gw.http, { host, path });
  return r.status === 200 ? (JSON.parse(r.body).pod as string) : `status ${r.status}`;
};

/** Makes the change, then polls traffic until `seen`; records the time since the API server answered. */
async function change(what: string, make: () => Promise<void>, seen: () => Promise<boolean>): Promise<void> {
  await make();
  const { ms } = await eventually(async () => (await seen()) || undefined, what, 3000);
  reached[what] = ms;
}

describe('on a real API server, as deploy/ ServiceAccount', () => {
  it('is ready once synced (EndpointSlices read as v1beta1), and serves', async () => {
    expect(await readyz(gw)).toBe(200);
    expect(
      gw.logs.some((l) => l.msg === 'kubernetes: EndpointSlices are served as discovery.k8s.io/v1beta1'),
    ).toBe(true);
    expect(await podOf('web.test')).toBe('blue-0');
    expect(gw.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });

  it('an Ingress created, updated and deleted', async () => {
    await change(
      'Ingress create',
      () => put(server, ing('api', 'api.test', 'web')),
      async () => (await podOf('api.test')) === 'blue-0',
    );
    const v2 = ingress(NS, 'api', [{ host: 'api.test', path: '/v2', service: 'web' }], {
      ingressClassName: CLASS,
    });
    await change(
      'Ingress update',
      () => put(server, v2),
      async () => (await podOf('api.test')) === 'status 404' && (await podOf('api.test', '/v2')) === 'blue-0',
    );
    await change(
      'Ingress delete',
      () => del(server, v2),
      async () => (await podOf('api.test', '/v2')) === 'status 404',
    );
  });

  it('a Service created after its Ingress, updated, and deleted', async () => {
    await put(server, ing('late', 'late.test', 'late'));
    await put(server, sliceV1beta1(NS, 'late', green.port, ['127.0.81.11']));
    await eventually(async () => (await podOf('late.test')) === 'status 503' || undefined, 'no Service: 503');
    await change(
      'Service create',
      () => put(server, service(NS, 'late')),
      async () => (await podOf('late.test')) === 'green-0',
    );
    // The Ingress asks for port 80: a Service without it has nothing to send to.
    await change(
      'Service update',
      () => put(server, service(NS, 'late', 81)),
      async () => (await podOf('late.test')) === 'status 503',
    );
    await put(server, service(NS, 'late'));
    await eventually(async () => (await podOf('late.test')) === 'green-0' || undefined, 'port 80 again');
    await change(
      'Service delete',
      () => del(server, service(NS, 'late')),
      async () => (await podOf('late.test')) === 'status 503',
    );
  });

  it('an EndpointSlice (v1beta1) created, updated and deleted', async () => {
    await put(server, service(NS, 'eps'));
    await put(server, ing('eps', 'eps.test', 'eps'));
    await eventually(
      async () => (await podOf('eps.test')) === 'status 503' || undefined,
      'no endpoints: 503',
    );
    const slice = (pods: Pods, ips: string[]) => sliceV1beta1(NS, 'eps', pods.port, ips);
    await change(
      'EndpointSlice create',
      () => put(server, slice(blue, ['127.0.81.2'])),
      async () => (await podOf('eps.test')) === 'blue-1',
    );
    await change(
      'EndpointSlice update',
      () => put(server, slice(green, ['127.0.81.12'])),
      async () => (await podOf('eps.test')) === 'green-1',
    );
    // A second slice of the same Service adds its endpoints; a not-ready endpoint gets no traffic.
    const extra = sliceV1beta1(NS, 'eps', green.port, ['127.0.81.11'], {
      name: 'eps-extra',
      notReady: ['127.0.81.12'],
    });
    await put(server, extra);
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) seen.add(await podOf('eps.test'));
      return seen.has('green-0') && seen.has('green-1') && seen.size === 2;
    }, 'two slices');
    await del(server, extra);
    await change(
      'EndpointSlice delete',
      () => del(server, slice(green, [])),
      async () => (await podOf('eps.test')) === 'status 503',
    );
  });

  it('a TLS Secret created, rotated and deleted', async () => {
    const [first, second] = await Promise.all([
      certificateFor(['secure.test']),
      certificateFor(['secure.test']),
    ]);
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const served = async () =>
      (await httpsRequest(gw.https, { servername: 'secure.test' })).peerCertificate.fingerprint256;
    await put(
      server,
      ing('secure', 'secure.test', 'web', { tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }] }),
    );
    await change(
      'Secret create',
      () => put(server, tlsSecret(NS, 'secure-tls', first.cert, first.key)),
      async () => (await served()) === fingerprint(first.cert),
    );
    expect((await request(gw.http, { host: 'secure.test' })).status).toBe(308);
    const tls = await httpsRequest(gw.https, { servername: 'secure.test' });
    expect(JSON.parse(tls.body).pod).toBe('blue-0');
    await change(
      'Secret rotation',
      () => put(server, tlsSecret(NS, 'secure-tls', second.cert, second.key)),
      async () => (await served()) === fingerprint(second.cert),
    );
    await change(
      'Secret delete',
      () => del(server, tlsSecret(NS, 'secure-tls', '', '')),
      async () => {
        const fp = await served().catch(() => 'no handshake');
        return fp !== fingerprint(second.cert) && fp !== fingerprint(first.cert);
      },
    );
  });

  it('an IngressClass created, updated (default) and deleted', async () => {
    const extra = (isDefault: boolean) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: {
        name: 'extra',
        annotations: { 'ingressclass.kubernetes.io/is-default-class': String(isDefault) },
      },
      spec: { controller: 'k8s.io/ingress-gateway' },
    });
    await put(
      server,
      ingress(NS, 'cls', [{ host: 'cls.test', service: 'web' }], { ingressClassName: 'extra' }),
    );
    // No class at all (created while no class is the default, so the API server leaves it class-less).
    await put(server, ingress(NS, 'classless', [{ host: 'classless.test', service: 'web' }]));
    await eventually(async () => (await podOf('cls.test')) === 'status 404' || undefined, 'no class: 404');
    await change(
      'IngressClass create',
      () => put(server, extra(false)),
      async () => (await podOf('cls.test')) === 'blue-0',
    );
    expect(await podOf('classless.test')).toBe('status 404');
    await change(
      'IngressClass update',
      () => put(server, extra(true)),
      async () => (await podOf('classless.test')) === 'blue-0',
    );
    await change(
      'IngressClass delete',
      () => del(server, extra(true)),
      async () =>
        (await podOf('cls.test')) === 'status 404' && (await podOf('classless.test')) === 'status 404',
    );
  });

  it('10 s of keep-alive load (4 clients) while the endpoints churn: zero failed requests', {
    timeout: 30_000,
  }, async () => {
    await put(server, service(NS, 'churn'));
    await put(server, sliceV1beta1(NS, 'churn', blue.port, ['127.0.81.1', '127.0.81.2']));
    await put(server, ing('churn', 'churn.test', 'churn'));
    await eventually(
      async () => (await podOf('churn.test')).startsWith('blue-') || undefined,
      'churn served',
    );
    const swapsBefore = gw.logs.filter((l) => l.msg === 'endpoints applied').length;
    const failures: string[] = [];
    const byPod = new Map<string, number>();
    let completed = 0;
    const deadline = Date.now() + 10_000;
    const get = (agent: http.Agent) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: gw.http, agent, headers: { host: 'churn.test' } }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
            res.on('error', reject);
          })
          .on('error', reject);
      });
    const clients = Array.from({ length: 4 }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (Date.now() < deadline) {
        try {
          const r = await get(agent);
          if (r.status !== 200) failures.push(`status ${r.status}: ${r.body}`);
          else {
            const pod = JSON.parse(r.body).pod as string;
            byPod.set(pod, (byPod.get(pod) ?? 0) + 1);
          }
          completed++;
        } catch (err) {
          failures.push(String(err));
        }
      }
      agent.destroy();
    });
    // Every 200 ms the slice moves to the other pods, or to one pod of each (never empty).
    let rounds = 0;
    const churn = (async () => {
      while (Date.now() < deadline - 500) {
        const step = rounds % 3;
        const [pods, ips] =
          step === 0
            ? [green, ['127.0.81.11', '127.0.81.12']]
            : step === 1
              ? [blue, ['127.0.81.1', '127.0.81.2']]
              : [blue, ['127.0.81.1']];
        await put(server, sliceV1beta1(NS, 'churn', pods.port, ips));
        rounds++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await Promise.all([...clients, churn]);
    timings.churnRequests = completed;
    timings.churnRounds = rounds;
    timings.churnSwaps = gw.logs.filter((l) => l.msg === 'endpoints applied').length - swapsBefore;
    expect(failures.slice(0, 10)).toEqual([]);
    expect(rounds).toBeGreaterThan(20);
    expect(completed).toBeGreaterThan(rounds * 4);
    // Traffic followed the churn: every pod served some of it.
    expect([...byPod.keys()].sort()).toEqual(['blue-0', 'blue-1', 'green-0', 'green-1']);
  });
});

describe('the contract', () => {
  it('every change reached traffic within 1 s', () => {
    expect(Object.keys(reached)).toHaveLength(15);
    expect(Object.entries(reached).filter(([, ms]) => ms >= 1000)).toEqual([]);
  });
});

describe('on a real API server: the watch survives', () => {
  it('etcd compacted, the watch dropped: the resume gets 410 Gone; re-listed, converged, nothing lost or resurrected', {
    timeout: 40_000,
  }, async () => {
    await put(server, ing('c', 'c.test', 'web'));
    await eventually(async () => (await podOf('c.test')) === 'blue-0' || undefined, 'c');
    // The last Ingress event the gateway saw: where its Ingress watch resumes.
    const lastSeen = (
      await apiRequest(server, 'GET', `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/c`)
    ).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    // The gateway paused (SIGSTOP), so that once its watches are cut none is re-opened and what follows
    // reaches it through nothing but a re-list. Objects it does not watch move the revision on, etcd is
    // compacted there, and the API server restarts: its new watch cache (and etcd) start after
    // `lastSeen`, so the resume from it is answered 410 Gone. Then the changes.
    gw.child.kill('SIGSTOP');
    let compactedAt = 0;
    try {
      for (let i = 0; i < 3; i++)
        await put(server, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `bump-${i}`, namespace: NS },
        });
      compactedAt = await server.compact();
      const restart = Date.now();
      await server.restartApiServer();
      timings.restartForCompaction = Date.now() - restart;
      await del(server, ing('a', 'a.test', 'web'));
      await put(server, ing('d', 'd.test', 'web'));
      await put(server, sliceV1beta1(NS, 'web', green.port, ['127.0.81.11']));
    } finally {
      gw.child.kill('SIGCONT');
    }
    const resumed = Date.now();
    await eventually(async () => (await podOf('d.test')) === 'green-0' || undefined, 'd, on green', 15_000);
    await eventually(async () => (await podOf('a.test')) === 'status 404' || undefined, 'a deleted', 15_000);
    timings.convergedAfterCompaction = Date.now() - resumed;
    for (const host of ['b.test', 'c.test', 'web.test']) expect(await podOf(host), host).toBe('green-0');
    expect(await readyz(gw)).toBe(200);
    // What the API server says to that resume, and what the gateway did: the audit log of its calls
    // shows the watch from `lastSeen` (its stream: one ERROR event, 410), then a list of all Ingresses.
    expect(Number(lastSeen)).toBeLessThan(compactedAt);
    const stale = await apiRequest(
      server,
      'GET',
      `/apis/networking.k8s.io/v1/ingresses?watch=1&resourceVersion=${lastSeen}&timeoutSeconds=1`,
    );
    expect(stale.body).toMatch(/"type":"ERROR".*"reason":"Expired".*"code":410/);
    const audit = (await readFile(join(auditDir, 'audit.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter(
        (e) =>
          Date.parse(e.requestReceivedTimestamp) >= resumed - 1000 &&
          e.stage === 'ResponseComplete' &&
          e.objectRef?.resource === 'ingresses',
      );
    const resume = audit.findIndex(
      (e) =>
        e.verb === 'watch' &&
        e.requestURI.includes(`resourceVersion=${lastSeen}`) &&
        e.responseStatus?.code === 200,
    );
    expect(resume, JSON.stringify(audit.map((e) => `${e.verb} ${e.requestURI}`))).toBeGreaterThanOrEqual(0);
    expect(audit.slice(resume + 1).some((e) => e.verb === 'list')).toBe(true);
  });

  it('the API server restarted while objects change: converges, nothing lost', {
    timeout: 40_000,
  }, async () => {
    await put(server, ing('e', 'e.test', 'web'));
    const restarting = server.restartApiServer();
    // Changes made while the API server stops and starts: each retried until it is accepted.
    const changes: Array<() => Promise<void>> = [
      () => put(server, ing('f', 'f.test', 'web')),
      () => del(server, ing('c', 'c.test', 'web')),
      () => put(server, sliceV1beta1(NS, 'web', blue.port, ['127.0.81.2'])),
      () => put(server, ing('g', 'g.test', 'web')),
      () => del(server, ing('d', 'd.test', 'web')),
    ];
    let retries = 0;
    for (const make of changes) {
      for (;;) {
        try {
          await make();
          break;
        } catch {
          retries++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    await restarting;
    timings.changeRetriesDuringRestart = retries;
    const converged = Date.now();
    await eventually(async () => (await podOf('g.test')) === 'blue-1' || undefined, 'g, on blue-1', 15_000);
    await eventually(async () => (await podOf('d.test')) === 'status 404' || undefined, 'd deleted', 15_000);
    timings.convergedAfterRestart = Date.now() - converged;
    for (const host of ['b.test', 'e.test', 'f.test', 'web.test'])
      expect(await podOf(host), host).toBe('blue-1');
    expect(await podOf('c.test')).toBe('status 404');
    expect(await readyz(gw)).toBe(200);
    // The rest of what was made before is all still there.
    expect(await podOf('eps.test')).toBe('status 503');
    expect(await podOf('churn.test')).toMatch(/^(blue|green)-/);
  });
});
