import {
  CoreV1Api,
  type Informer,
  type KubernetesObject,
  ListWatch,
  makeInformer,
  NetworkingV1Api,
  type V1Secret,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, test } from 'vitest';
import { ApiServerFixture } from './index.js';
import { InformerLog, kubeConfigFor, svc } from './informer.test-support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options?: Parameters<typeof ApiServerFixture.start>[0]) {
  const api = await ApiServerFixture.start(options);
  cleanups.push(() => api.stop());
  const kc = kubeConfigFor(api);
  return { api, kc, core: kc.makeApiClient(CoreV1Api) };
}

function track<T extends KubernetesObject>(informer: Informer<T>): InformerLog {
  const log = new InformerLog(informer);
  // stop() aborts the watch, which the informer reports as an AbortError: expected here.
  cleanups.push(() => informer.stop());
  return log;
}

describe('informers against the fixture', () => {
  test('list, then add / update / delete from the watch', async () => {
    const { api, kc, core } = await setup({ objects: [svc('a')] });
    const informer = makeInformer<V1Service>(kc, '/api/v1/namespaces/default/services', () =>
      core.listNamespacedService({ namespace: 'default' }),
    );
    const log = track(informer);
    await informer.start();
    expect((await log.waitFor('add', 'a')).obj?.metadata?.resourceVersion).toBe(
      api.get('services', 'default', 'a')?.metadata?.resourceVersion,
    );

    api.apply(svc('b'));
    await log.waitFor('add', 'b');
    api.apply({ ...svc('a'), spec: { ports: [{ port: 81 }] } });
    const update = await log.waitFor('update', 'a');
    expect((update.obj as V1Service).spec?.ports?.[0]?.port).toBe(81);
    await core.deleteNamespacedService({ namespace: 'default', name: 'b' });
    await log.waitFor('delete', 'b');
    expect(informer.list('default').map((s) => s.metadata?.name)).toEqual(['a']);

    const watch = api.requests.find((r) => r.verb === 'watch');
    expect(watch).toMatchObject({
      resource: 'services',
      namespace: 'default',
      user: 'fixture-user',
      status: 200,
    });
    // client-node does not ask for bookmarks.
    expect(watch?.query.allowWatchBookmarks).toBeUndefined();
  });

  test('an object that stops matching the label selector arrives as DELETED, one that starts as ADDED', async () => {
    const { api, kc, core } = await setup({ objects: [svc('in', { app: 'x' }), svc('out', { app: 'y' })] });
    // The informer passes the selector to the watch only, so the list function filters itself.
    const informer = makeInformer<V1Service>(
      kc,
      '/api/v1/services',
      () => core.listServiceForAllNamespaces({ labelSelector: 'app=x' }),
      'app=x',
    );
    const log = track(informer);
    await informer.start();
    await log.waitFor('add', 'in');
    api.apply(svc('in', { app: 'z' }));
    const del = await log.waitFor('delete', 'in');
    expect(Number(del.obj?.metadata?.resourceVersion)).toBe(Number(api.resourceVersion));
    api.apply(svc('out', { app: 'x' }));
    await log.waitFor('add', 'out');
    expect(log.entries.filter((e) => e.name === 'in').map((e) => e.verb)).toEqual(['add', 'delete']);
    expect(api.requests.find((r) => r.verb === 'watch')?.labelSelector).toBe('app=x');
  });

  test('a ListWatch of TLS Secrets with a field selector', async () => {
    const secret = (name: string, type: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'default' },
      type,
      data: {},
    });
    const { api, kc, core } = await setup({
      objects: [secret('tls-a', 'kubernetes.io/tls'), secret('opaque', 'Opaque')],
    });
    const fieldSelector = 'type=kubernetes.io/tls';
    const informer = new ListWatch<V1Secret>(
      '/api/v1/secrets',
      new Watch(kc),
      () => core.listSecretForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    const log = track(informer);
    await informer.start();
    await log.waitFor('add', 'tls-a');
    api.apply(secret('opaque-2', 'Opaque'));
    api.apply(secret('tls-b', 'kubernetes.io/tls'));
    await log.waitFor('add', 'tls-b');
    expect(log.entries.filter((e) => e.verb === 'add').map((e) => e.name)).toEqual(['tls-a', 'tls-b']);
    const list = api.requests.find((r) => r.verb === 'list');
    expect(list?.fieldSelector).toBe(fieldSelector);
    expect(api.requests.find((r) => r.verb === 'watch')?.fieldSelector).toBe(fieldSelector);
  });

  test('an Ingress informer through NetworkingV1Api', async () => {
    const ing = (name: string) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'web' },
      spec: { ingressClassName: 'gateway', rules: [{ host: `${name}.example` }] },
    });
    const { api, kc } = await setup({ objects: [ing('one')] });
    const net = kc.makeApiClient(NetworkingV1Api);
    const informer = makeInformer(kc, '/apis/networking.k8s.io/v1/namespaces/web/ingresses', () =>
      net.listNamespacedIngress({ namespace: 'web' }),
    );
    const log = track(informer);
    await informer.start();
    await log.waitFor('add', 'one');
    api.apply(ing('two'));
    const added = await log.waitFor('add', 'two');
    expect(added.obj).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' });
  });
});
