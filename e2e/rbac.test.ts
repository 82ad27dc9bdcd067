// Black-box: the RBAC rules in deploy/ are exactly what the gateway calls. The built CLI runs in
// cluster mode with every feature that talks to the API server (informers, leader election, Ingress
// status, --publish-service on a NodePort Service); the fixture records each call. Every call must be
// allowed by a rule, and every verb of every rule must have been used.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServerFixture, type RequestRecord } from '@gateway/api-server-fixture';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type GatewayProcess, ROOT, startGateway } from './support/gateway-process.js';
import { ingress, service, slice } from './support/manifests.js';

const NS = 'ingress-gateway';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Grant extends Rule {
  /** The ClusterRole's rules apply everywhere; the Role's only in its namespace. */
  scope: 'cluster' | 'namespace';
}

async function grants(): Promise<Grant[]> {
  const out: Grant[] = [];
  for (const file of ['11-clusterrole.yaml', '12-role.yaml']) {
    const text = await readFile(join(ROOT, 'deploy', file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const o = doc.toJS() as { kind: string; rules?: Rule[] };
      if (o.kind !== 'ClusterRole' && o.kind !== 'Role') continue;
      for (const r of o.rules ?? [])
        out.push({ ...r, scope: o.kind === 'ClusterRole' ? 'cluster' : 'namespace' });
    }
  }
  return out;
}

function allows(g: Grant, r: RequestRecord, verb: string): boolean {
  const resource = r.subresource === undefined ? r.resource! : `${r.resource}/${r.subresource}`;
  if (!g.apiGroups.includes(r.group ?? '') || !g.resources.includes(resource) || !g.verbs.includes(verb)) {
    return false;
  }
  if (g.scope === 'namespace' && r.namespace !== NS) return false;
  return g.resourceNames === undefined || (r.name !== undefined && g.resourceNames.includes(r.name));
}

let api: ApiServerFixture;
let gw: GatewayProcess;

beforeAll(async () => {
  api = await ApiServerFixture.start({
    tokens: { sa: 'system:serviceaccount:ingress-gateway:ingress-gateway' },
    objects: [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: {
          name: 'ingress-gateway',
          annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
        },
        spec: { controller: 'k8s.io/ingress-gateway' },
      },
      service('app', 'web'),
      slice('app', 'web', 8080, ['127.0.43.1']),
      ingress('app', 'web', [{ host: 'web.test', service: 'web' }], {
        tls: [{ hosts: ['web.test'], secretName: 'web-tls' }],
      }),
      // --publish-service: a NodePort Service without a load balancer, so the nodes of its pods count.
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ingress-gateway', namespace: NS },
        spec: {
          type: 'NodePort',
          selector: { app: 'ingress-gateway' },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'ingress-gateway-0', namespace: NS, labels: { app: 'ingress-gateway' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'gateway', image: 'ingress-gateway:dev' }] },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'node-1' },
        status: { addresses: [{ type: 'InternalIP', address: '127.0.43.9' }] },
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'gw-rbac-'));
  const kubeconfig = await api.writeKubeconfig(dir, { token: 'sa', namespace: NS });
  gw = await startGateway([
    '--kubeconfig',
    kubeconfig,
    '--publish-service',
    `${NS}/ingress-gateway`,
    '--election-lease-duration',
    '2',
  ]);
});

afterAll(async () => {
  await gw?.stop();
  await api?.stop();
});

it('every API call the gateway makes is granted by deploy/, and every granted verb is used', async () => {
  const status = () =>
    (
      api.get('ingresses.networking.k8s.io', 'app', 'web') as {
        status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
      }
    )?.status?.loadBalancer?.ingress?.[0]?.ip;
  await api.waitFor(() => status() === '127.0.43.9', 15_000);
  // A graceful stop hands the Lease back: the last verb of leader election.
  expect(await gw.stop()).toBe(0);
  const calls = api.requests.filter((r) => r.resource !== undefined && r.user !== undefined);
  const rules = await grants();
  const denied = calls.filter((r) => !rules.some((g) => allows(g, r, r.verb)));
  expect(
    denied.map(
      (r) =>
        `${r.verb} ${r.group ?? ''}/${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace ?? '*'}/${r.name ?? ''}`,
    ),
  ).toEqual([]);
  const unused: string[] = [];
  for (const g of rules) {
    for (const verb of g.verbs) {
      if (!calls.some((r) => allows({ ...g, verbs: [verb] }, r, verb))) {
        unused.push(`${g.scope} ${g.apiGroups.join(',')}/${g.resources.join(',')} ${verb}`);
      }
    }
  }
  expect(unused).toEqual([]);
});
