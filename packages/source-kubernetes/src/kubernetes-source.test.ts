import { ApiServerFixture } from '@gateway/api-server-fixture';
import type { SnapshotResult, SourceChange } from '@gateway/manifests';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesSource } from './kubernetes-source.js';
import { ingress, secret, service, slice } from './objects.test-support.js';

interface Logged {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

/** A source on a fixture, with every change and log line recorded and awaitable. */
async function setup(
  objects: object[],
  opts: { namespace?: string; endpointSliceVersions?: Array<'v1' | 'v1beta1'> } = {},
) {
  const api = await ApiServerFixture.start({
    objects,
    ...(opts.endpointSliceVersions ? { endpointSliceVersions: opts.endpointSliceVersions } : {}),
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(api.kubeConfigObject());
  const logs: Logged[] = [];
  const changes: SourceChange[] = [];
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  const record = (level: string) => (obj: object, msg?: string) => {
    logs.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
    notify();
  };
  const source = new KubernetesSource({
    kubeConfig,
    namespace: opts.namespace,
    log: { info: record('info'), warn: record('warn'), error: record('error') },
    backoff: { baseMs: 20, maxMs: 200 },
  });
  const until = async <T>(check: () => T | undefined | false, what: string, timeoutMs = 8000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  const started = source.start((c) => {
    changes.push(c);
    notify();
  });
  cleanups.push(async () => {
    await source.close();
    await api.stop();
  });
  return { api, source, logs, changes, started, until };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const names = (r: SnapshotResult) => ({
  ingresses: r.snapshot.ingresses.map((i) => `${i.object.metadata.namespace}/${i.object.metadata.name}`),
  services: r.snapshot.services.map((s) => s.object.metadata.name),
  slices: r.snapshot.endpointSlices.map((s) => s.object.metadata.name),
  secrets: r.snapshot.secrets.map((s) => s.object.metadata.name),
});

const lastSnapshot = (changes: SourceChange[]) => {
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.kind === 'snapshot') return c.result;
  }
  return undefined;
};

describe('KubernetesSource: initial sync', () => {
  it('resolves with every kind listed; only TLS Secrets are ever listed or watched', async () => {
    const { api, started } = await setup([
      ingress('app', 'web', 'web.test', 'web'),
      service('app', 'web'),
      slice('app', 'web', ['10.0.0.1']),
      secret('app', 'tls', 'kubernetes.io/tls'),
      secret('app', 'password'),
    ]);
    const first = await started;
    expect(names(first)).toEqual({
      ingresses: ['app/web'],
      services: ['web'],
      slices: ['web-abc'],
      secrets: [],
    });
    // The TLS Secret has no tls.crt: it is left out, with a diagnostic on it, and the rest is served.
    expect(new Set(first.diagnostics.map((d) => `${d.kind} ${d.namespace}/${d.name}`))).toEqual(
      new Set(['Secret app/tls']),
    );
    const secretCalls = api.requests.filter((r) => r.resource === 'secrets');
    expect(secretCalls.length).toBeGreaterThan(0);
    expect(secretCalls.every((r) => r.fieldSelector === 'type=kubernetes.io/tls')).toBe(true);
  });

  it('--watch-namespace narrows namespaced kinds; IngressClass stays cluster-wide', async () => {
    const { api, started } = await setup(
      [ingress('app', 'web', 'web.test', 'web'), ingress('other', 'web', 'other.test', 'web')],
      { namespace: 'app' },
    );
    expect(names(await started).ingresses).toEqual(['app/web']);
    const lists = api.requests.filter((r) => r.verb === 'list');
    expect(new Set(lists.map((r) => `${r.resource}:${r.namespace ?? '*'}`))).toEqual(
      new Set(['ingressclasses:*', 'ingresses:app', 'services:app', 'endpointslices:app', 'secrets:app']),
    );
  });

  it('a 403 on a list: a log line naming verb and resource, not synced; synced once allowed', async () => {
    const { api, logs, started, until } = await setup([ingress('app', 'web', 'web.test', 'web')]);
    api.deny({ verb: 'list', resource: 'services' });
    let synced = false;
    void started.then(() => {
      synced = true;
    });
    const line = await until(
      () => logs.find((l) => l.level === 'error' && l.obj.resource === 'services'),
      'a 403 log line',
    );
    expect(line.obj.verb).toBe('list');
    expect(line.msg).toMatch(/cannot list services: 403 Forbidden: .*cannot list resource "services"/);
    expect(synced).toBe(false);
    api.allow();
    const first = await started;
    expect(names(first).ingresses).toEqual(['app/web']);
  });
});

describe('KubernetesSource: what is kept of an object', () => {
  const withBookkeeping = (o: object, annotations: Record<string, string> = {}) => {
    const obj = o as { metadata: Record<string, unknown> };
    const managedFields = [
      { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
    ];
    const lastApplied = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(o) };
    return {
      ...obj,
      metadata: { ...obj.metadata, managedFields, annotations: { ...lastApplied, ...annotations } },
    };
  };

  it('drops managedFields and last-applied-configuration from listed and watched objects', async () => {
    const { api, source, changes, started, until } = await setup([
      withBookkeeping(ingress('app', 'web', 'web.test', 'web'), { keep: 'me' }),
      service('app', 'web'),
    ]);
    await started;
    const listed = source.ingressView().get('app', 'web')!;
    expect(listed.metadata).not.toHaveProperty('managedFields');
    expect(listed.metadata?.annotations).toEqual({ keep: 'me' });
    api.apply(withBookkeeping(ingress('app', 'web', 'new.test', 'web')));
    const snapshot = await until(() => {
      const last = lastSnapshot(changes);
      return last?.snapshot.ingresses[0]?.object.spec?.rules?.[0]?.host === 'new.test' && last;
    }, 'the update');
    const watched = snapshot.snapshot.ingresses[0]!.object;
    expect(watched.metadata).not.toHaveProperty('managedFields');
    expect(watched.metadata.annotations).toEqual({});
    expect(source.ingressView().get('app', 'web')).toBe(watched);
  });

  it("drops an EndpointSlice endpoint's targetRef, hints and deprecatedTopology, listed or watched", async () => {
    const withPods = (ips: string[]) => {
      const s = slice('app', 'web', ips) as { endpoints: Array<Record<string, unknown>> };
      for (const [i, e] of s.endpoints.entries()) {
        e.targetRef = { kind: 'Pod', namespace: 'app', name: `web-${i}` };
        e.hints = { forZones: [{ name: 'a' }] };
        e.deprecatedTopology = { 'kubernetes.io/hostname': 'node-1' };
        e.nodeName = 'node-1';
      }
      return s;
    };
    const { api, changes, started, until } = await setup([
      ingress('app', 'web', 'web.test', 'web'),
      service('app', 'web'),
      withPods(['10.0.0.1']),
    ]);
    const listed = (await started).snapshot.endpointSlices[0]!.object;
    expect(listed.endpoints).toEqual([
      { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'node-1' },
    ]);
    api.apply(withPods(['10.0.0.2']));
    const change = await until(
      () => changes.find((c) => c.kind === 'endpoints'),
      'the endpoints-only change',
    );
    expect(change.kind === 'endpoints' && change.objects.endpointSlices[0]!.object.endpoints).toEqual([
      { addresses: ['10.0.0.2'], conditions: { ready: true }, nodeName: 'node-1' },
    ]);
  });
});

describe('KubernetesSource: EndpointSlice version', () => {
  it('a cluster serving only discovery.k8s.io/v1beta1 (Kubernetes 1.20): slices are read from there', async () => {
    const beta = { ...(slice('app', 'web', ['10.0.0.1']) as object), apiVersion: 'discovery.k8s.io/v1beta1' };
    const { api, changes, started, until } = await setup(
      [ingress('app', 'web', 'web.test', 'web'), service('app', 'web'), beta],
      { endpointSliceVersions: ['v1beta1'] },
    );
    const first = await started;
    expect(first.snapshot.endpointSlices.map((s) => s.object.apiVersion)).toEqual(['discovery.k8s.io/v1']);
    expect(first.diagnostics).toEqual([]);
    expect(api.requests.some((r) => r.resource === 'endpointslices' && r.version === 'v1beta1')).toBe(true);
    api.apply({
      ...(slice('app', 'web', ['10.0.0.1', '10.0.0.2']) as object),
      apiVersion: 'discovery.k8s.io/v1beta1',
    });
    const change = await until(() => changes.find((c) => c.kind === 'endpoints'), 'an endpoints change');
    if (change.kind !== 'endpoints') return;
    expect(change.objects.endpointSlices[0]!.object.endpoints).toHaveLength(2);
  });
});

describe('KubernetesSource: changes', () => {
  it('an Ingress created, updated and deleted reaches the apply step as snapshots', async () => {
    const { api, changes, started, until } = await setup([service('app', 'web')]);
    await started;
    api.apply(ingress('app', 'web', 'web.test', 'web'));
    await until(() => lastSnapshot(changes)?.snapshot.ingresses.length === 1, 'the new Ingress');
    api.apply(ingress('app', 'web', 'changed.test', 'web'));
    await until(
      () => lastSnapshot(changes)?.snapshot.ingresses[0]?.object.spec?.rules?.[0]?.host === 'changed.test',
      'the updated Ingress',
    );
    api.remove('ingresses.networking.k8s.io', 'app', 'web');
    await until(() => lastSnapshot(changes)?.snapshot.ingresses.length === 0, 'the deletion');
  });

  it('an EndpointSlice of a referenced Service is an endpoints-only change; unreferenced objects cause none', async () => {
    const { api, changes, started, until } = await setup([
      ingress('app', 'web', 'web.test', 'web', { tls: [{ hosts: ['web.test'], secretName: 'web-tls' }] }),
      service('app', 'web'),
      slice('app', 'web', ['10.0.0.1']),
    ]);
    await started;
    // Objects nothing refers to: no rebuild.
    api.apply(service('app', 'unreferenced'));
    api.apply(slice('app', 'unreferenced', ['10.0.9.9']));
    api.apply(secret('app', 'other-tls', 'kubernetes.io/tls'));
    // Then one that matters: the first change seen must be it.
    api.apply(slice('app', 'web', ['10.0.0.1', '10.0.0.2']));
    const change = await until(() => changes[0], 'a change');
    expect(change.kind).toBe('endpoints');
    if (change.kind !== 'endpoints') return;
    expect([...change.services]).toEqual(['app/web']);
    expect(change.objects.endpointSlices.map((s) => s.object.endpoints.length)).toEqual([2]);
    expect(changes).toHaveLength(1);
    // A referenced Secret and a referenced Service are full rebuilds.
    api.apply(secret('app', 'web-tls', 'kubernetes.io/tls'));
    await until(() => changes.length === 2 && changes[1]!.kind === 'snapshot', 'a rebuild for the Secret');
  });

  it('changes within the hold-off are coalesced into one', async () => {
    const { api, changes, started, until } = await setup([service('app', 'web')]);
    await started;
    for (let i = 0; i < 20; i++) api.apply(ingress('app', `web-${i}`, `w${i}.test`, 'web'));
    await until(() => lastSnapshot(changes)?.snapshot.ingresses.length === 20, 'all 20');
    expect(changes.length).toBeLessThan(5);
  });
});

describe('KubernetesSource: resilience', () => {
  it('a cut watch is restarted from its resourceVersion; nothing is missed', async () => {
    const { api, changes, started, until, logs } = await setup([service('app', 'web')]);
    await started;
    const lists = api.requests.filter((r) => r.verb === 'list' && r.resource === 'ingresses').length;
    api.dropWatches();
    api.apply(ingress('app', 'web', 'web.test', 'web'));
    await until(() => lastSnapshot(changes)?.snapshot.ingresses.length === 1, 'the Ingress after the drop');
    expect(logs.some((l) => l.level === 'warn' && l.obj.verb === 'watch')).toBe(true);
    // Resumed, not re-listed.
    expect(api.requests.filter((r) => r.verb === 'list' && r.resource === 'ingresses').length).toBe(lists);
  });

  it('410 after compaction: re-listed, and a delete made meanwhile is not lost', async () => {
    const { api, changes, started, until } = await setup([
      service('app', 'web'),
      ingress('app', 'a', 'a.test', 'web'),
      ingress('app', 'b', 'b.test', 'web'),
    ]);
    await started;
    await api.down();
    api.remove('ingresses.networking.k8s.io', 'app', 'a');
    api.apply(ingress('app', 'c', 'c.test', 'web'));
    api.compact();
    await api.up();
    await until(() => {
      const s = lastSnapshot(changes);
      return s !== undefined && names(s).ingresses.join() === 'app/b,app/c';
    }, 'convergence to b and c');
  });

  it('an API server restart while objects change converges to its state', async () => {
    const { api, changes, started, until } = await setup([
      service('app', 'web'),
      ingress('app', 'a', 'a.test', 'web'),
    ]);
    await started;
    const restarted = api.restart();
    api.apply(ingress('app', 'b', 'b.test', 'web'));
    await restarted;
    api.remove('ingresses.networking.k8s.io', 'app', 'a');
    await until(() => {
      const s = lastSnapshot(changes);
      return s !== undefined && names(s).ingresses.join() === 'app/b';
    }, 'convergence to b');
  });

  it('an invalid object is left out with a diagnostic naming it; the others are served', async () => {
    const { api, changes, started, until } = await setup([service('app', 'web')]);
    await started;
    api.apply(ingress('app', 'good', 'good.test', 'web'));
    const bad = ingress('app', 'bad', 'bad.test', 'web') as {
      spec: { rules: Array<{ http: { paths: Array<{ pathType: string }> } }> };
    };
    bad.spec.rules[0]!.http.paths[0]!.pathType = 'Sometimes';
    api.apply(bad);
    const s = await until(() => {
      const r = lastSnapshot(changes);
      return r !== undefined && r.diagnostics.length > 0 ? r : undefined;
    }, 'a snapshot with the diagnostic');
    expect(names(s).ingresses).toEqual(['app/good']);
    expect(s.diagnostics[0]).toMatchObject({
      kind: 'Ingress',
      namespace: 'app',
      name: 'bad',
      severity: 'error',
    });
    expect(s.diagnostics[0]!.field).toContain('pathType');
  });
});

describe('KubernetesSource: synced means listed and watched', () => {
  it('a kind that may be listed but not watched keeps the source from syncing until its watch opens', async () => {
    const { api, logs, started, until } = await setup([service('app', 'web')]);
    api.deny({ verb: 'watch', resource: 'services' });
    let synced = false;
    void started.then(() => {
      synced = true;
    });
    const line = await until(
      () => logs.find((l) => l.level === 'error' && l.obj.resource === 'services' && l.obj.verb === 'watch'),
      'a 403 on the watch',
    );
    expect(line.msg).toMatch(/cannot watch services: 403/);
    expect(synced).toBe(false);
    api.allow();
    expect(names(await started).services).toEqual(['web']);
  });
});
