// Against a real kube-apiserver v1.20.2 with RBAC (support/kube-apiserver.ts): deploy/'s manifests (all but
// the policy/v1 PodDisruptionBudget, which 1.20 does not serve) and the seed example are accepted; the
// gateway, run as deploy/'s ServiceAccount (a token user with the service account's name and groups, so
// deploy/'s ClusterRoleBinding and RoleBinding apply to it), syncs, serves, elects itself through a real
// Lease and writes Ingress status from --publish-service. Then every verb of every rule of deploy/'s
// ClusterRole and Role is taken away in turn (the role replaced without it, restored after), and the
// gateway is shown to fail clearly without it: the rule is necessary. One fresh gateway per rule, except
// the five informer watches, taken away together from one gateway (each logged by name, each kind's
// change unseen until given back). The log prints which rules were proved and the timings.
import { X509Certificate } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pod, startPod, startPods } from './support/backends.js';
import { certificateFor } from './support/certificates.js';
import { eventually, readyz } from './support/cluster.js';
import { type GatewayProcess, ROOT } from './support/gateway-process.js';
import { httpsRequest, request } from './support/http-client.js';
import { type RealApiServer, startRealApiServer } from './support/kube-apiserver.js';
import { ingress, service, tlsSecret } from './support/manifests.js';
import {
  apiRequest,
  applyObjects,
  deployRoles,
  endpointSliceV1ToV1beta1,
  GATEWAY_NS,
  GATEWAY_SA,
  GATEWAY_SA_USER,
  ingressStatus,
  leaseHolder,
  type PolicyRule,
  type ResourceAttributes,
  type RoleDoc,
  readManifests,
  ruleName,
  setRules,
  sliceV1beta1,
  startRealGateway,
  waitFor,
  waitForAccess,
  withoutVerb,
} from './support/real-cluster.js';

const PDB = '31-poddisruptionbudget.yaml';
const NODE_IP = '127.0.80.9';
const APP = 'rbac';

type Pods = Awaited<ReturnType<typeof startPods>>;
let server: RealApiServer;
let nginx: Pods;
let tomcat: Pod[];
let web: Pods;
const timings: Record<string, number> = {};
const t0 = Date.now();

beforeAll(async () => {
  const start = Date.now();
  [server, nginx, web] = await Promise.all([
    startRealApiServer({ users: [GATEWAY_SA_USER] }),
    // The seed's endpoint addresses, on a free port (the seed's own 18080 may be another test's).
    startPods('nginx', ['127.0.1.1', '127.0.1.2', '127.0.1.3']),
    startPods('web', ['127.0.80.1']),
  ]);
  // tomcat's on the same port, as the seed has it.
  tomcat = await Promise.all(
    ['127.0.2.1', '127.0.2.2', '127.0.2.3'].map((ip, i) => startPod(`tomcat-${i}`, ip, nginx.port)),
  );
  timings.apiServerStart = Date.now() - start;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all([nginx?.close(), web?.close(), ...(tomcat ?? []).map((p) => p.close())]);
  console.log(`real-apiserver-rbac timings (ms): ${JSON.stringify({ ...timings, total: Date.now() - t0 })}`);
});

const podOf = async (port: number, host: string): Promise<string> => {
  const r = await request(port, { host });
  return r.status === 200 ? (JSON.parse(r.body).pod as string) : `status ${r.status}`;
};
const errors = (gw: GatewayProcess) => gw.logs.filter((l) => Number(l.level) >= 50);
const leading = (gw: GatewayProcess) => gw.logs.some((l) => l.msg === 'leader election: leading');

describe('deploy/ and the seed on Kubernetes 1.20', () => {
  it('kubectl apply accepts every deploy/ file but the PDB, and the seed (EndpointSlices as v1beta1)', async () => {
    const files = readdirSync(join(ROOT, 'deploy'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(files).toContain(PDB);
    // One kubectl, every file but the PDB named on its own -f, in file-name order: one line per document.
    const wanted = files.filter((f) => f !== PDB);
    const r = await server.kubectl(['apply', ...wanted.flatMap((f) => ['-f', join(ROOT, 'deploy', f)])]);
    const expected: string[] = [];
    for (const file of wanted)
      for (const d of await readManifests(`deploy/${file}`)) {
        const kind = String(d.kind).toLowerCase();
        const group = String(d.apiVersion).includes('/') ? `.${String(d.apiVersion).split('/')[0]}` : '';
        expected.push(`${kind}${group}/${(d.metadata as { name: string }).name} created`);
      }
    expect(r.stdout.trim().split('\n')).toEqual(expected);
    expect(expected).toHaveLength(10);
    // 1.20 has no policy/v1: the PDB is refused, which is why it is left out.
    const pdb = await server.kubectl(['apply', '-f', join(ROOT, 'deploy', PDB)], { check: false });
    expect(pdb.code).not.toBe(0);
    expect(pdb.stderr).toMatch(/no matches for kind "PodDisruptionBudget" in version "policy\/v1"/);
    // The objects read back; nothing runs the Deployment (no controller-manager): the tests run the gateway.
    const got = await server.kubectl([
      'get',
      'namespace/ingress-gateway',
      'clusterrole/ingress-gateway',
      'clusterrolebinding/ingress-gateway',
      'ingressclass/ingress-gateway',
      '-o',
      'name',
    ]);
    expect(got.stdout.trim().split('\n')).toHaveLength(4);
    const inNs = await server.kubectl([
      'get',
      '-n',
      GATEWAY_NS,
      'serviceaccount/ingress-gateway',
      'role/ingress-gateway',
      'rolebinding/ingress-gateway',
      'deployment/ingress-gateway',
      'service/ingress-gateway',
      'service/ingress-gateway-metrics',
      '-o',
      'name',
    ]);
    expect(inNs.stdout.trim().split('\n')).toHaveLength(6);

    // The seed: its EndpointSlices are discovery.k8s.io/v1, converted to v1beta1 here (same fields);
    // its port 18080 (both slices) moved to the test pods' free port. Its namespace is not in the file.
    const seed = (await readManifests('examples/seed.yaml')).map(endpointSliceV1ToV1beta1);
    expect(seed.filter((d) => d.apiVersion === 'discovery.k8s.io/v1beta1')).toHaveLength(2);
    const text = JSON.stringify(seed).replaceAll('"port":18080', `"port":${nginx.port}`);
    await server.kubectl(['create', 'namespace', 'demo']);
    const out = await server.kubectl(['apply', '-f', '-'], {
      input: (JSON.parse(text) as object[]).map((d) => JSON.stringify(d)).join('\n'),
    });
    expect(out.stdout.trim().split('\n')).toEqual([
      'ingressclass.networking.k8s.io/gateway created',
      'service/nginx created',
      'endpointslice.discovery.k8s.io/nginx-abc12 created',
      'service/tomcat created',
      'endpointslice.discovery.k8s.io/tomcat-xyz34 created',
      'secret/tomcat-tls created',
      'ingress.networking.k8s.io/nginx created',
      'ingress.networking.k8s.io/tomcat created',
    ]);
  });
});

describe('as deploy/ ServiceAccount, with deploy/ RBAC only', () => {
  let gw: GatewayProcess;

  afterAll(async () => {
    await gw?.stop();
  });

  it('syncs, serves the seed, leads through a real Lease, writes status from --publish-service', async () => {
    // --publish-service ingress-gateway/ingress-gateway is deploy/'s NodePort Service: a ready pod of its
    // selector on a node gives the node's address. Pod status is written through the status subresource.
    await server.kubectl(['create', 'namespace', APP]);
    await applyObjects(server, [
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'node-1' },
        status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'ingress-gateway-0',
          namespace: GATEWAY_NS,
          labels: {
            'app.kubernetes.io/name': 'ingress-gateway',
            'app.kubernetes.io/component': 'controller',
          },
        },
        spec: {
          nodeName: 'node-1',
          serviceAccountName: 'ingress-gateway',
          automountServiceAccountToken: false,
          containers: [{ name: 'gateway', image: 'ingress-gateway:dev' }],
        },
      },
      service(APP, 'web'),
      sliceV1beta1(APP, 'web', web.port, ['127.0.80.1']),
      ingress(APP, 'web', [{ host: 'web.rbac.test', service: 'web' }], {
        ingressClassName: 'ingress-gateway',
      }),
    ]);
    const pod = await apiRequest(
      server,
      'PATCH',
      `/api/v1/namespaces/${GATEWAY_NS}/pods/ingress-gateway-0/status`,
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(pod.status, pod.body).toBe(200);

    const start = Date.now();
    gw = await startRealGateway(server, GATEWAY_SA, [
      '--publish-service',
      `${GATEWAY_NS}/ingress-gateway`,
      '--election-lease-duration',
      '3',
    ]);
    await gw.waitForLog((l) => l.msg === 'synced: ready', 15_000);
    timings.firstSync = Date.now() - start;
    expect(await readyz(gw)).toBe(200);
    expect(gw.logs.some((l) => String(l.msg).includes('discovery.k8s.io/v1beta1'))).toBe(true);
    // The seed's traffic: three nginx pods behind one host, tomcat over TLS with the seed's certificate.
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(await podOf(gw.http, 'nginx.example.test'));
    expect([...seen].sort()).toEqual(['nginx-0', 'nginx-1', 'nginx-2']);
    expect((await request(gw.http, { host: 'tomcat.example.test' })).status).toBe(308);
    const tls = await httpsRequest(gw.https, {
      servername: 'tomcat.example.test',
      host: 'tomcat.example.test',
    });
    expect(tls.status).toBe(200);
    expect(JSON.parse(tls.body).pod).toMatch(/^tomcat-/);
    const seedSecret = (await readManifests('examples/seed.yaml')).find((d) => d.kind === 'Secret') as {
      data: Record<string, string>;
    };
    const seedCert = new X509Certificate(Buffer.from(seedSecret.data['tls.crt']!, 'base64'));
    expect(tls.peerCertificate.fingerprint256).toBe(seedCert.fingerprint256);
    expect(await podOf(gw.http, 'web.rbac.test')).toBe('web-0');
    // Leadership through the real Lease, and status from the node of the ready pod.
    const lead = await gw.waitForLog((l) => l.msg === 'leader election: leading', 10_000);
    expect(await leaseHolder(server)).toBe(lead.identity);
    timings.statusWritten = await waitFor(
      'status of every served Ingress',
      async () =>
        (await ingressStatus(server, 'demo', 'nginx')) === NODE_IP &&
        (await ingressStatus(server, 'demo', 'tomcat')) === NODE_IP &&
        (await ingressStatus(server, APP, 'web')) === NODE_IP,
    );
    expect(errors(gw)).toEqual([]);
  });
});

// Every verb of every rule of deploy/'s ClusterRole and Role, each taken away on its own.
const roles = await deployRoles();
interface Removal {
  role: RoleDoc;
  index: number;
  rule: PolicyRule;
  verb: string;
}
const removals: Removal[] = [roles.clusterRole, roles.role].flatMap((role) =>
  role.rules.flatMap((rule, index) => rule.verbs.map((verb) => ({ role, index, rule, verb }))),
);
const INFORMED = ['ingresses', 'ingressclasses', 'services', 'endpointslices', 'secrets'];
const PROBE = 'probe';
const isWatch = (r: Removal) =>
  r.verb === 'watch' && r.role.kind === 'ClusterRole' && INFORMED.includes(r.rule.resources[0]!);
let rbacWaitMs = 0;
const PUBLISHED = '127.0.85.1';

/** The authorizer's question for the call the rule grants. */
function attrsOf(r: Removal): ResourceAttributes {
  const [resource = '', subresource] = r.rule.resources[0]!.split('/');
  return {
    verb: r.verb,
    group: r.rule.apiGroups[0] ?? '',
    resource,
    ...(subresource ? { subresource } : {}),
    // The ClusterRole's namespaced grants are used across namespaces (the informers list them all; status
    // is written where the Ingress is); the Role's in the gateway's namespace.
    namespace: r.role.kind === 'Role' ? GATEWAY_NS : subresource === 'status' ? APP : '',
    ...(r.rule.resourceNames ? { name: r.rule.resourceNames[0] } : {}),
  };
}

describe('each rule of deploy/ RBAC taken away: the gateway fails, and says which', () => {
  const proved: string[] = [];

  beforeAll(async () => {
    // An Ingress that no gateway has written status to yet: any write shows.
    await applyObjects(server, [
      ingress(APP, PROBE, [{ host: 'probe.rbac.test', service: 'web' }], {
        ingressClassName: 'ingress-gateway',
      }),
    ]);
  });
  afterAll(() => {
    timings.rbacPropagation = rbacWaitMs;
    console.log(
      `real-apiserver-rbac: rules proved necessary (${proved.length}/${removals.length}):\n  ${proved.join('\n  ')}`,
    );
  });

  it('deploy/ has the rules this test knows how to take away', () => {
    const names = removals.map((r) => `${r.role.kind} ${ruleName(r.rule, r.verb)}`);
    expect(names).toEqual([
      'ClusterRole list ingresses.networking.k8s.io',
      'ClusterRole watch ingresses.networking.k8s.io',
      'ClusterRole update ingresses/status.networking.k8s.io',
      'ClusterRole list ingressclasses.networking.k8s.io',
      'ClusterRole watch ingressclasses.networking.k8s.io',
      'ClusterRole list services',
      'ClusterRole watch services',
      'ClusterRole list endpointslices.discovery.k8s.io',
      'ClusterRole watch endpointslices.discovery.k8s.io',
      'ClusterRole list secrets',
      'ClusterRole watch secrets',
      'ClusterRole get nodes',
      'Role create leases.coordination.k8s.io',
      'Role get leases.coordination.k8s.io',
      'Role update leases.coordination.k8s.io',
      'Role list pods',
      'Role get services',
    ]);
  });

  for (const removal of removals.filter((r) => !isWatch(r))) {
    const { role, index, rule, verb } = removal;
    const name = `${role.kind} ${ruleName(rule, verb)}`;
    it(name, { timeout: 30_000 }, async () => {
      const started = Date.now();
      const attrs = attrsOf(removal);
      const resource = rule.resources[0]!;
      const qualified = `${resource}${rule.apiGroups[0] ? `.${rule.apiGroups[0]}` : ''}`;
      let gw: GatewayProcess | undefined;
      await setRules(server, role, withoutVerb(role, index, verb).rules);
      rbacWaitMs += await waitForAccess(server, GATEWAY_SA, attrs, false);
      try {
        if (role.kind === 'ClusterRole' && INFORMED.includes(resource)) {
          // An informer's list: a gateway started fresh logs the denied call and is not ready.
          gw = await startRealGateway(server, GATEWAY_SA);
          const line = await gw.waitForLog(
            (l) => Number(l.level) >= 50 && l.resource === qualified && l.verb === verb,
          );
          expect(line.status).toBe(403);
          expect(line.msg).toContain(`cannot ${verb} ${qualified}`);
          expect(line.msg).toMatch(/403/);
          // Nothing else is denied.
          expect(errors(gw).filter((l) => l.resource !== qualified)).toEqual([]);
          expect(await readyz(gw)).toBe(503);
        } else if (resource === 'ingresses/status') {
          // The leader's status write: denied, named, nothing written; given back, it is written.
          gw = await startRealGateway(server, GATEWAY_SA, ['--publish-status-address', PUBLISHED]);
          await gw.waitForLog((l) => l.msg === 'leader election: leading');
          const line = await gw.waitForLog((l) => Number(l.level) >= 50 && l.resource === 'ingresses/status');
          expect(line.verb).toBe('update');
          expect(line.status).toBe(403);
          expect(line.msg).toMatch(
            /^ingress status: update ingresses\/status networking\.k8s\.io .*: 403 Forbidden/,
          );
          expect(await ingressStatus(server, APP, PROBE)).toBe('');
          await setRules(server, role, role.rules);
          timings[`${name}: written once given back`] = await waitFor(
            'the status write retried',
            async () => (await ingressStatus(server, APP, PROBE)) === PUBLISHED,
          );
          // Leave the probe unwritten for the next cases.
          await gw.stop();
          gw = undefined;
          await clearStatus(APP, PROBE);
        } else if (resource === 'leases') {
          // Leader election: no leadership, the denied verb named, no status written.
          if (verb !== 'create' && (await leaseHolder(server)) === undefined) {
            // A Lease to take over (get and update), as a gracefully stopped leader leaves it.
            const created = await apiRequest(
              server,
              'POST',
              `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NS}/leases`,
              {
                apiVersion: 'coordination.k8s.io/v1',
                kind: 'Lease',
                metadata: { name: 'ingress-gateway-leader', namespace: GATEWAY_NS },
                spec: { holderIdentity: '', leaseDurationSeconds: 1 },
              },
            );
            expect(created.status, created.body).toBe(201);
          }
          if (verb === 'create')
            await apiRequest(
              server,
              'DELETE',
              `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NS}/leases/ingress-gateway-leader`,
            );
          const before = await leaseHolder(server);
          expect(before).toBe(verb === 'create' ? undefined : '');
          gw = await startRealGateway(server, GATEWAY_SA, [
            '--publish-status-address',
            PUBLISHED,
            '--election-lease-duration',
            '3',
          ]);
          const line = await gw.waitForLog(
            (l) => Number(l.level) >= 50 && l.resource === 'leases.coordination.k8s.io',
          );
          expect(line.verb).toBe(verb);
          expect(line.status).toBe(403);
          expect(line.msg).toMatch(
            new RegExp(`^leader election: .*403 Forbidden: .*cannot ${verb} resource "leases"`),
          );
          // Past a retry period (lease × 2/15 = 0.4 s): tried again, still not leading.
          await new Promise((r) => setTimeout(r, 600));
          expect(leading(gw)).toBe(false);
          expect(await leaseHolder(server)).toBe(before);
          expect(await ingressStatus(server, APP, PROBE)).toBe('');
          // Serving does not depend on it.
          expect(await readyz(gw)).toBe(200);
          expect(await podOf(gw.http, 'probe.rbac.test')).toBe('web-0');
        } else if (['nodes', 'pods', 'services'].includes(resource)) {
          // --publish-service: the leader cannot resolve the addresses; the call named; no status.
          gw = await startRealGateway(server, GATEWAY_SA, [
            '--publish-service',
            `${GATEWAY_NS}/ingress-gateway`,
            '--election-lease-duration',
            '3',
          ]);
          await gw.waitForLog((l) => l.msg === 'leader election: leading');
          const line = await gw.waitForLog((l) => Number(l.level) >= 50);
          expect(line.status).toBe(403);
          const call = {
            nodes: 'get nodes node-1',
            pods: `list pods in ${GATEWAY_NS}`,
            services: `get services ${GATEWAY_NS}/ingress-gateway`,
          }[resource];
          expect(line.msg).toMatch(
            new RegExp(`^publish address: ${call}: 403 Forbidden: .*cannot ${verb} resource "${resource}"`),
          );
          // The round that follows (debounce 0.1 s) has no addresses to write.
          await new Promise((r) => setTimeout(r, 300));
          expect(await ingressStatus(server, APP, PROBE)).toBe('');
          expect(errors(gw)).toHaveLength(1);
        } else {
          throw new Error(`no way to show that ${name} is needed: add one`);
        }
        proved.push(`${name} (${Date.now() - started} ms)`);
      } finally {
        await gw?.stop();
        await setRules(server, role, role.rules);
        rbacWaitMs += await waitForAccess(server, GATEWAY_SA, attrs, true);
      }
    });
  }

  it('every informer watch (one gateway, each watch taken away): each named, each change unseen; given back, all seen', {
    timeout: 40_000,
  }, async () => {
    const started = Date.now();
    const watches = removals.filter(isWatch);
    expect(watches).toHaveLength(INFORMED.length);
    const role = roles.clusterRole;
    // Each check needs one change of its kind, made once the gateway has listed everything else.
    const first = await certificateFor(['watch-tls.rbac.test']);
    await applyObjects(server, [
      service(APP, 'late-eps'),
      sliceV1beta1(APP, 'late-svc', web.port, ['127.0.80.1']),
      ingress(APP, 'watch-class', [{ host: 'watch-class.rbac.test', service: 'web' }], {
        ingressClassName: 'late-class',
      }),
      ingress(APP, 'watch-svc', [{ host: 'watch-svc.rbac.test', service: 'late-svc' }], {
        ingressClassName: 'ingress-gateway',
      }),
      ingress(APP, 'watch-eps', [{ host: 'watch-eps.rbac.test', service: 'late-eps' }], {
        ingressClassName: 'ingress-gateway',
      }),
      ingress(APP, 'watch-tls', [{ host: 'watch-tls.rbac.test', service: 'web' }], {
        ingressClassName: 'ingress-gateway',
        tls: [{ hosts: ['watch-tls.rbac.test'], secretName: 'late-tls' }],
      }),
    ]);
    const changes: Record<string, { make: object; seen: () => Promise<boolean> }> = {
      ingresses: {
        make: ingress(APP, 'watch-ing', [{ host: 'watch-ing.rbac.test', service: 'web' }], {
          ingressClassName: 'ingress-gateway',
        }),
        seen: async () => (await podOf(gw.http, 'watch-ing.rbac.test')) === 'web-0',
      },
      ingressclasses: {
        make: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'IngressClass',
          metadata: { name: 'late-class' },
          spec: { controller: 'k8s.io/ingress-gateway' },
        },
        seen: async () => (await podOf(gw.http, 'watch-class.rbac.test')) === 'web-0',
      },
      services: {
        make: service(APP, 'late-svc'),
        seen: async () => (await podOf(gw.http, 'watch-svc.rbac.test')) === 'web-0',
      },
      endpointslices: {
        make: sliceV1beta1(APP, 'late-eps', web.port, ['127.0.80.1']),
        seen: async () => (await podOf(gw.http, 'watch-eps.rbac.test')) === 'web-0',
      },
      secrets: {
        make: tlsSecret(APP, 'late-tls', first.cert, first.key),
        seen: async () =>
          (await httpsRequest(gw.https, { servername: 'watch-tls.rbac.test' })).peerCertificate
            .fingerprint256 === new X509Certificate(first.cert).fingerprint256,
      },
    };
    const rules = role.rules
      .map((r) =>
        INFORMED.includes(r.resources[0]!) ? { ...r, verbs: r.verbs.filter((v) => v !== 'watch') } : r,
      )
      .filter((r) => r.verbs.length > 0);
    await setRules(server, role, rules);
    for (const w of watches) rbacWaitMs += await waitForAccess(server, GATEWAY_SA, attrsOf(w), false);
    let gw: GatewayProcess = undefined as never;
    try {
      gw = await startRealGateway(server, GATEWAY_SA);
      for (const w of watches) {
        const qualified = `${w.rule.resources[0]}${w.rule.apiGroups[0] ? `.${w.rule.apiGroups[0]}` : ''}`;
        const line = await gw.waitForLog((l) => Number(l.level) >= 50 && l.resource === qualified);
        expect(line.verb).toBe('watch');
        expect(line.status).toBe(403);
        expect(line.msg).toMatch(
          new RegExp(`^kubernetes: cannot watch ${qualified.replaceAll('.', '\\.')}: 403 Forbidden`),
        );
      }
      expect(errors(gw).filter((l) => l.verb !== 'watch')).toEqual([]);
      // Listed but not watched: the state would never change, so the gateway is not ready.
      expect(await readyz(gw)).toBe(503);
      const seen = (kind: string) => changes[kind]!.seen().catch(() => false);
      for (const kind of INFORMED) expect(await seen(kind), `${kind} before`).toBe(false);
      await applyObjects(
        server,
        INFORMED.map((k) => changes[k]!.make),
      );
      await new Promise((r) => setTimeout(r, 1500));
      for (const kind of INFORMED) expect(await seen(kind), `${kind}: unseen without its watch`).toBe(false);
      await setRules(server, role, role.rules);
      const given = Date.now();
      for (const kind of INFORMED) {
        await eventually(changes[kind]!.seen, `${kind}: seen once watched again`, 30_000);
      }
      timings['watch given back: all changes seen'] = Date.now() - given;
      await eventually(async () => (await readyz(gw)) === 200, 'ready once every watch is open', 30_000);
      for (const w of watches)
        proved.push(`${w.role.kind} ${ruleName(w.rule, 'watch')} (together: ${Date.now() - started} ms)`);
    } finally {
      await gw?.stop();
      await setRules(server, role, role.rules);
      for (const w of watches) rbacWaitMs += await waitForAccess(server, GATEWAY_SA, attrsOf(w), true);
    }
  });

  it('all given back: a fresh gateway syncs, leads and writes status again', async () => {
    const gw = await startRealGateway(server, GATEWAY_SA, [
      '--publish-service',
      `${GATEWAY_NS}/ingress-gateway`,
    ]);
    try {
      await gw.waitForLog((l) => l.msg === 'synced: ready');
      await gw.waitForLog((l) => l.msg === 'leader election: leading');
      await waitFor('the probe status', async () => (await ingressStatus(server, APP, PROBE)) === NODE_IP);
      expect(errors(gw)).toEqual([]);
    } finally {
      await gw.stop();
    }
  });
});

async function clearStatus(ns: string, name: string): Promise<void> {
  const r = await apiRequest(
    server,
    'PATCH',
    `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/${name}/status`,
    { status: { loadBalancer: { ingress: null } } },
    { contentType: 'application/merge-patch+json' },
  );
  expect(r.status, r.body).toBe(200);
}
