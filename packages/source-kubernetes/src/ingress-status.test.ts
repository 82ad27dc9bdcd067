import { ApiServerFixture } from '@gateway/api-server-fixture';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientFor, RecordingLogger, ungrantedCalls, within } from './fixture-clients.test-support.js';
import { type IngressObject, IngressStatusWriter, type IngressView } from './ingress-status.js';
import { LeaderElector, type Leadership } from './leader-election.js';
import { type LoadBalancerIngress, PublishAddresses, parsePublishStatusAddress } from './publish-address.js';

const OURS = parsePublishStatusAddress('203.0.113.7');
const REF = 'ingresses.networking.k8s.io';

/** The cache as fresh as can be: the fixture's own store. */
class FixtureView implements IngressView {
  constructor(private readonly api: ApiServerFixture) {}
  get(namespace: string, name: string): IngressObject | undefined {
    const o = this.api.get(REF, namespace, name);
    return o === undefined ? undefined : (structuredClone(o) as IngressObject);
  }
  all(): Iterable<IngressObject> {
    return this.api.list(REF).map((o) => structuredClone(o) as IngressObject);
  }
}

class FakeLeadership implements Leadership {
  private leading: boolean;
  private readonly started = new Set<() => void>();
  private readonly stopped = new Set<() => void>();
  constructor(leading = true) {
    this.leading = leading;
  }
  isLeader(): boolean {
    return this.leading;
  }
  onStartedLeading(l: () => void): () => void {
    this.started.add(l);
    return () => this.started.delete(l);
  }
  onStoppedLeading(l: () => void): () => void {
    this.stopped.add(l);
    return () => this.stopped.delete(l);
  }
  set(leading: boolean): void {
    this.leading = leading;
    for (const l of leading ? this.started : this.stopped) l();
  }
}

function ingress(name: string, status: LoadBalancerIngress[] = [], namespace = 'default') {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: { ingressClassName: 'gateway', rules: [{ host: `${name}.example` }] },
    status: { loadBalancer: status.length > 0 ? { ingress: status } : {} },
  };
}

let api: ApiServerFixture;
const closers: (() => unknown)[] = [];

beforeEach(async () => {
  api = await ApiServerFixture.start({ tokens: { a: 'gw-a', b: 'gw-b' } });
});

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  expect(ungrantedCalls(api)).toEqual([]);
  await api.stop();
});

function writer(
  options: { leadership?: Leadership; token?: 'a' | 'b'; view?: IngressView; logger?: RecordingLogger } = {},
) {
  const client = clientFor(api, options.token ?? 'a');
  const w = new IngressStatusWriter({
    api: client,
    ingresses: options.view ?? new FixtureView(api),
    leadership: options.leadership ?? new FakeLeadership(),
    addresses: new PublishAddresses(client, { addresses: OURS }),
    debounceMs: 10,
    retryMs: 50,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  closers.push(() => w.close());
  return w;
}

function statusOf(name: string, namespace = 'default'): unknown {
  return (api.get(REF, namespace, name) as { status?: unknown } | undefined)?.status;
}

function statusWrites(filter: { name?: string; user?: string; status?: number } = {}) {
  return api.requests.filter(
    (r) =>
      r.verb === 'update' &&
      r.resource === 'ingresses' &&
      r.subresource === 'status' &&
      (filter.name === undefined || r.name === filter.name) &&
      (filter.user === undefined || r.user === filter.user) &&
      (filter.status === undefined || r.status === filter.status),
  );
}

const published = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };

describe('IngressStatusWriter', () => {
  it('publishes on served Ingresses, clears ours from unserved ones, leaves others alone', async () => {
    api.apply(ingress('served'));
    api.apply(ingress('served-already', OURS));
    api.apply(ingress('dropped', OURS));
    api.apply(ingress('elsewhere', [{ ip: '198.51.100.1' }]));
    api.apply(ingress('ours-and-more', [...OURS, { ip: '198.51.100.1' }]));
    api.apply(ingress('blank'));
    const w = writer();
    w.start();
    w.setServed(new Set(['default/served', 'default/served-already']));
    await api.waitFor(() => statusWrites({ status: 200 }).length >= 2, 3000);
    await w.settled();
    expect(statusOf('served')).toEqual(published);
    expect(statusOf('dropped')).toEqual({ loadBalancer: {} });
    expect(statusOf('elsewhere')).toEqual({ loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } });
    expect(statusOf('ours-and-more')).toEqual({
      loadBalancer: { ingress: [...OURS, { ip: '198.51.100.1' }] },
    });
    expect(
      statusWrites()
        .map((r) => r.name)
        .sort(),
    ).toEqual(['dropped', 'served']);
    // The full object went back, with the resourceVersion it was read at: only PUT, never PATCH.
    expect(api.requests.filter((r) => r.resource === 'ingresses').every((r) => r.method === 'PUT')).toBe(
      true,
    );

    // An Ingress no longer served (its class changed, say) is cleared; a new one is published.
    api.apply(ingress('late'));
    w.setServed(new Set(['default/served-already', 'default/late']));
    await api.waitFor(() => JSON.stringify(statusOf('served')) === '{"loadBalancer":{}}', 3000);
    await api.waitFor(() => JSON.stringify(statusOf('late')) === JSON.stringify(published), 3000);
    await w.settled();
    expect(statusWrites({ name: 'served-already' })).toHaveLength(0);
  });

  it('a burst of changes is coalesced into one round', async () => {
    for (let i = 0; i < 25; i++) api.apply(ingress(`i${i}`));
    const w = writer();
    w.start();
    const keys = new Set<string>();
    for (let i = 0; i < 25; i++) {
      keys.add(`default/i${i}`);
      w.setServed(new Set(keys));
    }
    await api.waitFor(() => statusWrites({ status: 200 }).length >= 25, 3000);
    await w.settled();
    expect(statusWrites()).toHaveLength(25);
  });

  it('the follower writes nothing; the leader does', async () => {
    api.apply(ingress('web'));
    const electors = (['a', 'b'] as const).map((t) => {
      const e = new LeaderElector(clientFor(api, t), {
        namespace: 'default',
        identity: `pod-${t}`,
        leaseDurationMs: 600,
        renewDeadlineMs: 400,
        retryPeriodMs: 100,
      });
      closers.push(() => e.stop());
      return e;
    });
    const writers = electors.map((e, i) => writer({ leadership: e, token: i === 0 ? 'a' : 'b' }));
    for (const w of writers) {
      w.start();
      w.setServed(new Set(['default/web']));
    }
    for (const e of electors) e.start();
    await api.waitFor(() => JSON.stringify(statusOf('web')) === JSON.stringify(published), 3000);
    // A few more rounds from both: the follower's must all be refused by itself, not by the API server.
    for (const w of writers) w.resync();
    await Promise.all(writers.map((w) => w.settled()));
    const leaderUser = electors[0]!.isLeader() ? 'gw-a' : 'gw-b';
    const followerUser = leaderUser === 'gw-a' ? 'gw-b' : 'gw-a';
    expect(statusWrites({ user: leaderUser })).toHaveLength(1);
    expect(statusWrites({ user: followerUser })).toHaveLength(0);
    expect(api.requests.filter((r) => r.user === followerUser && r.resource === 'ingresses')).toHaveLength(0);
  });

  it('stops writing on stepping down, and makes a full pass on leading again', async () => {
    api.apply(ingress('web'));
    const leadership = new FakeLeadership(false);
    const w = writer({ leadership });
    w.start();
    w.setServed(new Set(['default/web']));
    await w.settled();
    expect(statusWrites()).toHaveLength(0);
    leadership.set(true);
    await api.waitFor(() => statusWrites({ status: 200 }).length === 1, 3000);
    leadership.set(false);
    api.apply(ingress('other'));
    w.setServed(new Set(['default/web', 'default/other']));
    await w.settled();
    expect(statusWrites()).toHaveLength(1);
  });

  it('a 409 (the cache behind the API server) is retried with the newer object', async () => {
    api.apply(ingress('web'));
    // A cache that has not seen the latest write yet, until told to catch up.
    const live = new FixtureView(api);
    let snapshot: IngressObject | undefined = live.get('default', 'web');
    const lagging: IngressView = {
      get: (ns, name) => (snapshot !== undefined && name === 'web' ? snapshot : live.get(ns, name)),
      all: () =>
        [...live.all()].map((o) => (snapshot !== undefined && o.metadata?.name === 'web' ? snapshot : o)),
    };
    api.apply({
      ...ingress('web'),
      metadata: { name: 'web', namespace: 'default', labels: { changed: 'yes' } },
    });
    const w = writer({ view: lagging });
    w.start();
    w.setServed(new Set(['default/web']));
    await api.waitForRequest({ verb: 'update', resource: 'ingresses', subresource: 'status', name: 'web' });
    expect(statusWrites({ status: 409 })).toHaveLength(1);
    snapshot = undefined;
    await api.waitFor(() => JSON.stringify(statusOf('web')) === JSON.stringify(published), 3000);
    // An injected conflict too.
    api.apply(ingress('two'));
    api.failNext({ verb: 'update', resource: 'ingresses/status', name: 'two', status: 409 });
    w.setServed(new Set(['default/web', 'default/two']));
    await api.waitFor(() => JSON.stringify(statusOf('two')) === JSON.stringify(published), 3000);
    expect(statusWrites({ name: 'two' }).map((r) => r.status)).toEqual([409, 200]);
  });

  it('an Ingress deleted meanwhile (404) is skipped, not retried', async () => {
    api.apply(ingress('gone'));
    const view = new FixtureView(api);
    const stale = view.get('default', 'gone')!;
    api.remove(REF, 'default', 'gone');
    const w = writer({ view: { get: () => stale, all: () => [stale] } });
    w.start();
    w.setServed(new Set(['default/gone']));
    await api.waitForRequest({ verb: 'update', resource: 'ingresses', subresource: 'status', name: 'gone' });
    await w.settled();
    expect(statusWrites({ name: 'gone' }).map((r) => r.status)).toEqual([404]);
  });

  it('a denied write is logged once as an error naming verb and resource, and retried', async () => {
    const log = new RecordingLogger();
    api.apply(ingress('web'));
    api.deny({ verb: 'update', resource: 'ingresses/status' });
    const w = writer({ logger: log });
    w.start();
    w.setServed(new Set(['default/web']));
    await api.waitFor(() => statusWrites({ status: 403 }).length >= 3, 5000);
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]!.msg).toContain('update ingresses/status networking.k8s.io default/web: 403');
    api.allow();
    await api.waitFor(() => JSON.stringify(statusOf('web')) === JSON.stringify(published), 5000);
  });

  it('keeps writing after the API server restarts', async () => {
    api.apply(ingress('before'));
    api.apply(ingress('after'));
    const w = writer();
    w.start();
    w.setServed(new Set(['default/before']));
    await api.waitFor(() => JSON.stringify(statusOf('before')) === JSON.stringify(published), 3000);
    await api.restart();
    w.setServed(new Set(['default/before', 'default/after']));
    await api.waitFor(() => JSON.stringify(statusOf('after')) === JSON.stringify(published), 5000);
  });

  it('writes nothing after close', async () => {
    api.apply(ingress('web'));
    const w = writer();
    w.start();
    await w.close();
    w.setServed(new Set(['default/web']));
    w.resync();
    await w.settled();
    await within(w.close(), 1000, 'close twice');
    expect(statusWrites()).toHaveLength(0);
  });

  it('never writes while the addresses are unknown', async () => {
    api.apply(ingress('web', [{ ip: '198.51.100.1' }]));
    const client = clientFor(api, 'a');
    const w = new IngressStatusWriter({
      api: client,
      ingresses: new FixtureView(api),
      leadership: new FakeLeadership(),
      addresses: new PublishAddresses(client, { service: { namespace: 'default', name: 'missing' } }),
      debounceMs: 10,
    });
    closers.push(() => w.close());
    w.start();
    w.setServed(new Set(['default/web']));
    await api.waitForRequest({ verb: 'get', resource: 'services' });
    await w.settled();
    expect(statusWrites()).toHaveLength(0);
  });
});
