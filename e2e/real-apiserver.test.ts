// Smoke test of the real-API-server harness: kube-apiserver v1.20.2 (built from Debian's source package
// into a cache outside the repository, the first time only) and etcd on loopback, RBAC on. Objects
// applied with Debian's kubectl read back with @kubernetes/client-node; a token user with no binding
// gets the server's own 403, and 200 once bound.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealApiServer, startRealApiServer } from './support/kube-apiserver.js';

const GATEWAY_SA = 'system:serviceaccount:ingress-gateway:ingress-gateway';
const NS = 'smoke';

let server: RealApiServer;

beforeAll(async () => {
  const t0 = Date.now();
  server = await startRealApiServer({
    users: [
      { name: GATEWAY_SA, groups: ['system:serviceaccounts', 'system:serviceaccounts:ingress-gateway'] },
    ],
  });
  console.log(`real kube-apiserver ready in ${Date.now() - t0} ms at ${server.url}`);
  // First run on a machine: apt installs and a build from source (minutes). Cached: seconds.
}, 30 * 60_000);

afterAll(async () => {
  await server?.stop();
});

const load = (path: string) => {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
};

const MANIFESTS = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: NS },
    spec: {
      rules: [
        {
          host: 'web.example',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'web', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  },
  {
    apiVersion: 'discovery.k8s.io/v1beta1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  },
];

describe('real kube-apiserver (v1.20.2 from Debian source)', () => {
  it('reports v1.20.2 on /version', async () => {
    const version = await load(server.kubeconfigPath).makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.20.2');
    expect(`${version.major}.${version.minor}`).toBe('1.20');
  });

  it('kubectl apply, then @kubernetes/client-node lists the objects back', async () => {
    const applied = await server.kubectl(['apply', '-f', '-'], {
      input: MANIFESTS.map((m) => JSON.stringify(m)).join('\n'),
    });
    expect(applied.stdout).toContain('ingress.networking.k8s.io/web created');

    const kc = load(server.kubeconfigPath);
    const services = await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace: NS });
    expect(services.items.map((s) => s.metadata?.name)).toEqual(['web']);

    const ingresses = await kc.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace: NS });
    expect(ingresses.items).toHaveLength(1);
    expect(ingresses.items[0]?.spec?.rules?.[0]?.host).toBe('web.example');
    expect(ingresses.items[0]?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port?.name).toBe('http');

    const slices = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: 'discovery.k8s.io',
      version: 'v1beta1',
      namespace: NS,
      plural: 'endpointslices',
    })) as { items: { metadata: { name: string }; endpoints: { addresses: string[] }[] }[] };
    expect(slices.items.map((s) => s.metadata.name)).toEqual(['web-1']);
    expect(slices.items[0]?.endpoints[0]?.addresses).toEqual(['127.0.0.1']);
  });

  it('RBAC: a token user gets the real 403 until a ClusterRoleBinding grants it, then 200', async () => {
    const asGateway = load(await server.kubeconfigFor(GATEWAY_SA, NS)).makeApiClient(NetworkingV1Api);
    const err = await asGateway.listIngressForAllNamespaces().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const denied = err as ApiException<string>;
    expect(denied.code).toBe(403);
    expect(JSON.parse(denied.body).message).toBe(
      `ingresses.networking.k8s.io is forbidden: User "${GATEWAY_SA}" cannot list resource "ingresses" in API group "networking.k8s.io" at the cluster scope`,
    );

    const rbac = load(server.kubeconfigPath).makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: { name: 'smoke-ingress-reader' },
        rules: [
          { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'smoke-ingress-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'smoke-ingress-reader' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: GATEWAY_SA }],
      },
    });
    // The authorizer's informer sees the binding within moments.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const list = await asGateway.listIngressForAllNamespaces();
        expect(list.items.map((i) => i.metadata?.name)).toEqual(['web']);
        break;
      } catch (e) {
        if (!(e instanceof ApiException) || e.code !== 403 || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const can = await server.kubectl(['auth', 'can-i', 'list', 'ingresses', '--all-namespaces'], {
      as: GATEWAY_SA,
    });
    expect(can.stdout.trim()).toBe('yes');
  });

  it('survives an API-server restart with etcd kept, and compacts etcd', async () => {
    await server.restartApiServer();
    const got = await server.kubectl([
      'get',
      'ingress',
      'web',
      '-n',
      NS,
      '-o',
      'jsonpath={.spec.rules[0].host}',
    ]);
    expect(got.stdout).toBe('web.example');
    expect(await server.compact()).toBeGreaterThan(1);
  }, 90_000);
});
