import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Ingress,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, test } from 'vitest';
import { ApiServerFixture, type FixtureOptions } from './index.js';
import { kubeConfigFor, svc } from './informer.test-support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options?: FixtureOptions) {
  const api = await ApiServerFixture.start(options);
  cleanups.push(() => api.stop());
  return { api, kc: kubeConfigFor(api) };
}

const ingress: V1Ingress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web', namespace: 'apps' },
  spec: { ingressClassName: 'gateway', rules: [{ host: 'web.example' }] },
};

/** The ApiException of a call expected to fail. */
async function failure(p: Promise<unknown>): Promise<{ code: number; body: string }> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: { code: number; body: string }) => e,
  );
}

/** Sends a request with the fixture's token; for what the typed clients do not expose. */
async function raw(api: ApiServerFixture, path: string, init: RequestInit = {}) {
  const res = await fetch(api.url + path, {
    ...init,
    headers: { authorization: 'Bearer fixture-token', ...(init.headers as Record<string, string>) },
  });
  // biome-ignore lint/suspicious/noExplicitAny: assertions read the JSON freely
  return { status: res.status, body: (await res.json()) as any };
}

describe('leases', () => {
  test('create, 409 AlreadyExists, get, 404 NotFound, update, 409 Conflict on a stale resourceVersion', async () => {
    const { api, kc } = await start();
    const leases = kc.makeApiClient(CoordinationV1Api);
    const body = { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    const created = await leases.createNamespacedLease({ namespace: 'gw', body });
    expect(created.metadata).toMatchObject({
      name: 'leader',
      namespace: 'gw',
      resourceVersion: api.resourceVersion,
    });
    expect(created.metadata?.uid).toBeTruthy();
    const dup = await failure(leases.createNamespacedLease({ namespace: 'gw', body }));
    expect(dup.code).toBe(409);
    expect(JSON.parse(dup.body)).toMatchObject({
      reason: 'AlreadyExists',
      message: 'leases.coordination.k8s.io "leader" already exists',
    });
    const missing = await failure(leases.readNamespacedLease({ namespace: 'gw', name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      details: { name: 'nope', group: 'coordination.k8s.io', kind: 'leases' },
    });

    const current = await leases.readNamespacedLease({ namespace: 'gw', name: 'leader' });
    const renewed = await leases.replaceNamespacedLease({
      namespace: 'gw',
      name: 'leader',
      body: { ...current, spec: { ...current.spec, holderIdentity: 'b' } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(
      Number(current.metadata?.resourceVersion),
    );
    const stale = await failure(
      leases.replaceNamespacedLease({
        namespace: 'gw',
        name: 'leader',
        body: { ...current, spec: { holderIdentity: 'c' } },
      }),
    );
    expect(stale.code).toBe(409);
    expect(JSON.parse(stale.body)).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "leader": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect(api.get('leases', 'gw', 'leader')).toMatchObject({ spec: { holderIdentity: 'b' } });
    expect(api.requests.map((r) => r.verb)).toEqual(['create', 'create', 'get', 'get', 'update', 'update']);
  });
});

describe('ingress status', () => {
  test('PUT status and merge PATCH status change only .status; a main write ignores .status', async () => {
    const { api, kc } = await start({ objects: [ingress] });
    const net = kc.makeApiClient(NetworkingV1Api);
    const before = api.get('ingresses', 'apps', 'web')!;
    const lb = { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } };
    const put = await net.replaceNamespacedIngressStatus({
      namespace: 'apps',
      name: 'web',
      body: { ...ingress, spec: { rules: [{ host: 'changed.example' }] }, status: lb },
    });
    expect(put.status?.loadBalancer?.ingress?.[0]?.ip).toBe('10.0.0.1');
    expect(put.spec?.rules?.[0]?.host).toBe('web.example');
    expect(Number(put.metadata?.resourceVersion)).toBeGreaterThan(Number(before.metadata?.resourceVersion));
    expect(put.metadata?.generation).toBe(1);

    const patched = await net.patchNamespacedIngressStatus(
      {
        namespace: 'apps',
        name: 'web',
        body: {
          spec: { ingressClassName: 'other' },
          status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }] } },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.status?.loadBalancer?.ingress).toEqual([{ hostname: 'lb.example' }]);
    expect(patched.spec?.ingressClassName).toBe('gateway');
    const write = await api.waitForRequest({
      verb: 'patch',
      resource: 'ingresses',
      subresource: 'status',
      name: 'web',
    });
    expect(write).toMatchObject({
      group: 'networking.k8s.io',
      version: 'v1',
      namespace: 'apps',
      status: 200,
    });

    const jsonPatched = await net.patchNamespacedIngressStatus({
      namespace: 'apps',
      name: 'web',
      body: [{ op: 'replace', path: '/status/loadBalancer/ingress/0/hostname', value: 'lb2.example' }],
    });
    expect(jsonPatched.status?.loadBalancer?.ingress?.[0]?.hostname).toBe('lb2.example');

    const main = await net.replaceNamespacedIngress({
      namespace: 'apps',
      name: 'web',
      body: { ...ingress, spec: { ...ingress.spec, rules: [{ host: 'new.example' }] }, status: {} },
    });
    expect(main.status?.loadBalancer?.ingress?.[0]?.hostname).toBe('lb2.example');
    expect(main.spec?.rules?.[0]?.host).toBe('new.example');
    expect(main.metadata?.generation).toBe(2);
  });
});

describe('lists and watches over HTTP', () => {
  test('limit + continue pages a consistent snapshot; compaction expires the token with 410', async () => {
    const { api, kc } = await start({ objects: ['a', 'b', 'c', 'd', 'e'].map((n) => svc(n)) });
    const core = kc.makeApiClient(CoreV1Api);
    const page1 = await core.listNamespacedService({ namespace: 'default', limit: 2 });
    expect(page1.items.map((s) => s.metadata?.name)).toEqual(['a', 'b']);
    api.remove('services', 'default', 'c');
    const page2 = await core.listNamespacedService({
      namespace: 'default',
      limit: 2,
      _continue: page1.metadata?._continue,
    });
    expect(page2.items.map((s) => s.metadata?.name)).toEqual(['c', 'd']);
    expect(page2.metadata?.resourceVersion).toBe(page1.metadata?.resourceVersion);
    api.compact();
    const expired = await failure(
      core.listNamespacedService({ namespace: 'default', limit: 2, _continue: page2.metadata?._continue }),
    );
    expect(expired.code).toBe(410);
    expect(JSON.parse(expired.body)).toMatchObject({ reason: 'Expired' });
  });

  test('selectors: set-based labels, field selectors, 400 on an unknown field', async () => {
    const { api } = await start({
      objects: [
        svc('a', { tier: 'web' }),
        svc('b', { tier: 'db' }),
        svc('c'),
        svc('d', { tier: 'web' }, 'other'),
      ],
    });
    const names = async (q: string) =>
      (await raw(api, `/api/v1/services?${q}`)).body.items.map(
        (i: { metadata: { name: string } }) => i.metadata.name,
      );
    expect(await names('labelSelector=tier%20in%20(web,db)')).toEqual(['a', 'b', 'd']);
    expect(await names('labelSelector=tier!%3Dweb')).toEqual(['b', 'c']);
    expect(await names('labelSelector=!tier')).toEqual(['c']);
    expect(await names('labelSelector=tier,tier%3Dweb')).toEqual(['a', 'd']);
    expect(await names('fieldSelector=metadata.namespace%3Dother')).toEqual(['d']);
    expect(await names('fieldSelector=metadata.name!%3Da,metadata.namespace%3Ddefault')).toEqual(['b', 'c']);
    const bad = await raw(api, '/api/v1/services?fieldSelector=spec.type%3DClusterIP');
    expect(bad).toMatchObject({
      status: 400,
      body: { reason: 'BadRequest', message: 'field label not supported: spec.type' },
    });
  });

  test('a raw Watch with allowWatchBookmarks gets BOOKMARKs; an old resourceVersion gets the 410 ERROR event', async () => {
    const { api, kc } = await start({ objects: [svc('a')], bookmarkIntervalMs: 0 });
    const events: {
      type: string;
      obj: { metadata?: { resourceVersion?: string; name?: string }; code?: number; message?: string };
    }[] = [];
    let notify = () => {};
    const next = (pred: (e: (typeof events)[number]) => boolean) =>
      new Promise<(typeof events)[number]>((resolve) => {
        const check = () => {
          const e = events.find(pred);
          if (e) resolve(e);
          else notify = check;
        };
        check();
      });
    const rv = api.resourceVersion;
    const w = new Watch(kc);
    const ended = new Promise<unknown>((resolve) => {
      void w
        .watch(
          '/api/v1/namespaces/default/services',
          { allowWatchBookmarks: true, resourceVersion: rv },
          (type, obj) => {
            events.push({ type, obj });
            notify();
          },
          resolve,
        )
        .then((controller) => cleanups.push(async () => controller.abort()));
    });
    await api.waitForWatch('services');
    expect(api.watches).toEqual([
      { resource: 'services', group: '', namespace: 'default', fromRv: Number(rv), bookmarks: true },
    ]);
    api.apply(svc('b'));
    await next((e) => e.type === 'ADDED' && e.obj.metadata?.name === 'b');
    api.bookmark();
    const bm = await next((e) => e.type === 'BOOKMARK');
    expect(bm.obj).toEqual({
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { resourceVersion: api.resourceVersion },
    });

    api.compact();
    const old = await raw(api, `/api/v1/services?watch=1&resourceVersion=${rv}`);
    expect(old.status).toBe(200);
    expect(old.body).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rv} (${Number(api.resourceVersion)})`,
        reason: 'Expired',
        code: 410,
      },
    });
    api.dropWatches({ graceful: true });
    expect(await ended).toBeNull();
  });

  test('timeoutSeconds ends the watch cleanly; RV 0 starts with synthetic ADDED', async () => {
    const { api } = await start({ objects: [svc('a'), svc('b')] });
    const text = await (
      await fetch(`${api.url}/api/v1/services?watch=true&resourceVersion=0&timeoutSeconds=1`, {
        headers: { authorization: 'Bearer fixture-token' },
      })
    ).text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
  });
});

describe('discovery, kubeconfig, requests', () => {
  test('discovery documents and /version', async () => {
    const { api, kc } = await start({ endpointSliceVersions: ['v1beta1'] });
    const groups = (await raw(api, '/apis')).body;
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual([
      'networking.k8s.io',
      'discovery.k8s.io',
      'coordination.k8s.io',
    ]);
    expect((await raw(api, '/apis/discovery.k8s.io')).body.preferredVersion).toEqual({
      groupVersion: 'discovery.k8s.io/v1beta1',
      version: 'v1beta1',
    });
    expect((await raw(api, '/apis/discovery.k8s.io/v1')).status).toBe(404);
    const v1beta1 = (await raw(api, '/apis/discovery.k8s.io/v1beta1')).body;
    expect(v1beta1.resources.map((r: { name: string }) => r.name)).toEqual(['endpointslices']);
    expect((await raw(api, '/api')).body.versions).toEqual(['v1']);
    expect(
      ((await fetch(`${api.url}/version`).then((r) => r.json())) as { gitVersion: string }).gitVersion,
    ).toBe('v1.33.0');
    const dv1 = await failure(
      kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default' }),
    );
    expect(dv1.code).toBe(404);
  });

  test('EndpointSlices through DiscoveryV1Api; the objects carry the served version', async () => {
    const { api, kc } = await start({
      objects: [
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 's1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.1.0.1'] }],
        },
      ],
    });
    const slices = await kc
      .makeApiClient(DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=a' });
    expect(slices.items.map((s) => s.endpoints?.[0]?.addresses)).toEqual([['10.1.0.1']]);
    expect(api.requests[0]).toMatchObject({
      verb: 'list',
      group: 'discovery.k8s.io',
      version: 'v1',
      resource: 'endpointslices',
    });
  });

  test('writeKubeconfig: a file loadFromFile accepts, with the context namespace', async () => {
    const { api } = await start({ objects: [svc('a', undefined, 'team')] });
    const dir = await mkdtemp(join(tmpdir(), 'api-fixture-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = await api.writeKubeconfig(dir, { namespace: 'team' });
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('team');
    expect(kc.getCurrentCluster()).toMatchObject({ server: api.url, skipTLSVerify: true });
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace: 'team' });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['a']);
  });

  test('events POST, the request log in RBAC terms, deny with a named object in a namespace', async () => {
    const { api, kc } = await start({ tokens: { t: 'system:serviceaccount:gw:gateway' } });
    kc.loadFromOptions(api.kubeConfigObject());
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedEvent({
      namespace: 'gw',
      body: { metadata: { generateName: 'x.' }, involvedObject: {}, reason: 'Sync' },
    });
    api.deny({ verb: 'get', resource: 'secrets', namespace: 'gw' });
    const denied = await failure(core.readNamespacedSecret({ namespace: 'gw', name: 'tls' }));
    expect(JSON.parse(denied.body).message).toBe(
      'secrets "tls" is forbidden: User "system:serviceaccount:gw:gateway" cannot get resource "secrets" in API group "" in the namespace "gw"',
    );
    expect(
      api.requests.map(({ verb, group, resource, namespace, name, user }) => ({
        verb,
        group,
        resource,
        namespace,
        name,
        user,
      })),
    ).toEqual([
      {
        verb: 'create',
        group: '',
        resource: 'events',
        namespace: 'gw',
        name: undefined,
        user: 'system:serviceaccount:gw:gateway',
      },
      {
        verb: 'get',
        group: '',
        resource: 'secrets',
        namespace: 'gw',
        name: 'tls',
        user: 'system:serviceaccount:gw:gateway',
      },
    ]);
    expect(api.list('events', 'gw')[0]?.metadata?.name).toMatch(/^x\./);
  });
});
