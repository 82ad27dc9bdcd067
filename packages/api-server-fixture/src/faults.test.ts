import {
  CoreV1Api,
  type Informer,
  type KubernetesObject,
  makeInformer,
  type V1Service,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, test } from 'vitest';
import { ApiServerFixture, type FixtureOptions } from './index.js';
import { InformerLog, kubeConfigFor, svc } from './informer.test-support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serviceInformer(options: FixtureOptions = {}) {
  const api = await ApiServerFixture.start({ objects: [svc('a'), svc('b')], ...options });
  cleanups.push(() => api.stop());
  const kc = kubeConfigFor(api);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Service>(kc, '/api/v1/namespaces/default/services', () =>
    core.listNamespacedService({ namespace: 'default' }),
  );
  const log = track(informer);
  await informer.start();
  await log.waitFor('add', 'b');
  return { api, informer, log, core };
}

function track<T extends KubernetesObject>(informer: Informer<T>): InformerLog {
  const log = new InformerLog(informer);
  cleanups.push(() => informer.stop());
  return log;
}

describe('faults, as client-node sees them', () => {
  test('a watch ended cleanly is re-opened from the last resourceVersion, missing nothing', async () => {
    const { api, log } = await serviceInformer();
    const lastRv = api.resourceVersion;
    const from = api.requests.length;
    expect(api.dropWatches({ graceful: true })).toBe(1);
    api.apply(svc('c'));
    await log.waitFor('add', 'c');
    const rewatch = await api.waitForWatch('services', { fromIndex: from });
    expect(rewatch.resourceVersion).toBe(lastRv);
    expect(api.requests.slice(from).some((r) => r.verb === 'list')).toBe(false);
  });

  test('a cut watch makes the informer emit "terminated" and stop; start() resumes from the last resourceVersion', async () => {
    const { api, informer, log } = await serviceInformer();
    const lastRv = api.resourceVersion;
    const mark = log.mark();
    api.dropWatches();
    const { err } = await log.waitFor('error', undefined, { from: mark });
    expect(err?.name).toBe('TypeError');
    expect(err?.message).toBe('terminated');
    expect(String(err?.cause)).toContain('other side closed');
    api.apply(svc('c'));
    const from = api.requests.length;
    await informer.start();
    await log.waitFor('add', 'c');
    const rewatch = await api.waitForWatch('services', { fromIndex: from });
    expect(rewatch.resourceVersion).toBe(lastRv);
    expect(api.requests.slice(from).some((r) => r.verb === 'list')).toBe(false);
  });

  test('compact while the watch is down: the watch gets a 410 ERROR event, the informer re-lists and deletes what vanished', async () => {
    const { api, informer, log } = await serviceInformer();
    const mark = log.mark();
    api.dropWatches();
    await log.waitFor('error', undefined, { from: mark });
    api.compact();
    api.remove('services', 'default', 'a');
    api.apply(svc('c'));
    const from = api.requests.length;
    await informer.start();
    await log.waitFor('delete', 'a');
    await log.waitFor('add', 'c');
    expect(api.requests.slice(from, from + 2).map((r) => r.verb)).toEqual(['watch', 'list']);
    expect(informer.list().map((s) => s.metadata?.name)).toEqual(['b', 'c']);
  });

  test('with expiredWatch "http" the 410 is the HTTP status of the watch request, with the same outcome', async () => {
    const { api, informer, log } = await serviceInformer({ expiredWatch: 'http' });
    const mark = log.mark();
    api.dropWatches();
    await log.waitFor('error', undefined, { from: mark });
    api.compact();
    api.remove('services', 'default', 'a');
    const from = api.requests.length;
    await informer.start();
    await log.waitFor('delete', 'a');
    expect(api.requests[from]).toMatchObject({ verb: 'watch', status: 410 });
  });

  test('restart keeps the state and the resourceVersions; the informer carries on', async () => {
    const { api, log, core } = await serviceInformer();
    const port = api.port;
    const rv = api.resourceVersion;
    await api.restart();
    expect(api.port).toBe(port);
    expect(api.resourceVersion).toBe(rv);
    api.apply(svc('c'));
    await log.waitFor('add', 'c');
    const list = await core.listNamespacedService({ namespace: 'default' });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['a', 'b', 'c']);
  });

  test('down(): connection refused reaches the informer as an error; up() serves the same state', async () => {
    const { api, informer, log, core } = await serviceInformer();
    const mark = log.mark();
    await api.down();
    const { err } = await log.waitFor('error', undefined, { from: mark });
    expect(err?.message).toBe('fetch failed');
    expect((err?.cause as { code?: string } | undefined)?.code).toBe('ECONNREFUSED');
    await expect(core.listNamespacedService({ namespace: 'default' })).rejects.toMatchObject({
      cause: { code: 'ECONNREFUSED' },
    });
    await api.up();
    api.apply(svc('c'));
    await informer.start();
    await log.waitFor('add', 'c');
  });

  test('403 on the list: the informer emits an ApiException carrying the RBAC Status', async () => {
    const api = await ApiServerFixture.start({ tokens: { t0k: 'system:serviceaccount:gw:gateway' } });
    cleanups.push(() => api.stop());
    api.deny({ verb: 'list', resource: 'services' });
    const kc = kubeConfigFor(api);
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Service>(kc, '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );
    const log = track(informer);
    await informer.start();
    const { err } = await log.waitFor('error');
    const message =
      'services is forbidden: User "system:serviceaccount:gw:gateway" cannot list resource "services" in API group "" at the cluster scope';
    expect(err?.code).toBe(403);
    // ApiException.body is the response text, not a parsed object.
    expect(JSON.parse(err?.body as string)).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message,
    });
    expect(err?.message).toContain('HTTP-Code: 403');
    // The message embeds JSON.stringify() of that text: the quotes come out escaped twice.
    expect(err?.message).toContain('services is forbidden: User');
    expect(api.requests[0]).toMatchObject({
      verb: 'list',
      resource: 'services',
      status: 403,
      user: 'system:serviceaccount:gw:gateway',
    });
  });

  test('403 on the watch: the informer emits an Error "Forbidden" with statusCode 403 (no body)', async () => {
    const { api, informer, log } = await serviceInformer();
    await informer.stop();
    const aborted = await log.waitFor('error');
    expect(aborted.err?.name).toBe('AbortError');
    api.deny({ verb: 'watch', resource: 'services', namespace: 'default' });
    const mark = log.mark();
    await informer.start();
    const { err } = await log.waitFor('error', undefined, { from: mark });
    expect(err?.message).toBe('Forbidden');
    expect(err?.statusCode).toBe(403);
    api.allow({ verb: 'watch', resource: 'services', namespace: 'default' });
    api.apply(svc('c'));
    await informer.start();
    await log.waitFor('add', 'c');
  });

  test('failNext answers the next matching requests with the status', async () => {
    const api = await ApiServerFixture.start({ objects: [svc('a')] });
    cleanups.push(() => api.stop());
    const core = kubeConfigFor(api).makeApiClient(CoreV1Api);
    api.failNext({ verb: 'get', resource: 'services', status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await core
        .readNamespacedService({ namespace: 'default', name: 'a' })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 503 });
      expect(JSON.parse((err as { body: string }).body)).toMatchObject({
        reason: 'ServiceUnavailable',
        code: 503,
      });
    }
    expect((await core.readNamespacedService({ namespace: 'default', name: 'a' })).metadata?.name).toBe('a');
  });

  test('a wrong token is a 401', async () => {
    const api = await ApiServerFixture.start();
    cleanups.push(() => api.stop());
    const core = kubeConfigFor(api, 'default');
    core.loadFromOptions(api.kubeConfigObject({ token: 'wrong' }));
    await expect(
      core.makeApiClient(CoreV1Api).listNamespacedService({ namespace: 'default' }),
    ).rejects.toMatchObject({
      code: 401,
    });
    expect(api.requests[0]).toMatchObject({ status: 401, user: undefined });
  });
});
