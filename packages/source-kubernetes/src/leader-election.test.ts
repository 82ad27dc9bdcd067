import { ApiServerFixture, type WriteEvent } from '@gateway/api-server-fixture';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientFor, RecordingLogger, ungrantedCalls, within } from './fixture-clients.test-support.js';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.js';

// Short durations keep the tests fast; the same ratios as the defaults' (lease > deadline > period).
const LEASE = 600;
const DEADLINE = 400;
const RETRY = 100;
const USERS = { a: 'gw-a', b: 'gw-b' } as const;

let api: ApiServerFixture;
const electors: LeaderElector[] = [];

beforeEach(async () => {
  api = await ApiServerFixture.start({ tokens: { a: USERS.a, b: USERS.b } });
});

afterEach(async () => {
  for (const e of electors.splice(0)) e.stop();
  expect(ungrantedCalls(api)).toEqual([]);
  await api.stop();
});

function elector(token: 'a' | 'b', options: Partial<LeaderElectorOptions> = {}): LeaderElector {
  const e = new LeaderElector(clientFor(api, token), {
    namespace: 'default',
    identity: `pod-${token}`,
    leaseDurationMs: LEASE,
    renewDeadlineMs: DEADLINE,
    retryPeriodMs: RETRY,
    random: () => 0,
    ...options,
  });
  electors.push(e);
  return e;
}

function leading(e: LeaderElector): Promise<number> {
  return new Promise((resolve) => {
    if (e.isLeader()) resolve(Date.now());
    const off = e.onStartedLeading(() => {
      off();
      resolve(Date.now());
    });
  });
}

function notLeading(e: LeaderElector): Promise<number> {
  return new Promise((resolve) => {
    const off = e.onStoppedLeading(() => {
      off();
      resolve(Date.now());
    });
  });
}

function lease() {
  return api.get('leases.coordination.k8s.io', 'default', 'ingress-gateway-leader') as
    | {
        spec: {
          holderIdentity?: string;
          leaseTransitions?: number;
          renewTime?: string;
          leaseDurationSeconds?: number;
        };
      }
    | undefined;
}

/** When the fixture last stored a Lease held by `identity` (the holder's last successful renewal). */
function lastWriteBy(identity: string): () => number {
  let at = 0;
  api.on('write', (w: WriteEvent) => {
    const spec = (w.object as { spec?: { holderIdentity?: string } }).spec;
    if (w.resource === 'leases' && spec?.holderIdentity === identity) at = Date.now();
  });
  return () => at;
}

function leaseCalls(user: string, verb: string, status?: number): number {
  return api.requests.filter(
    (r) =>
      r.resource === 'leases' &&
      r.user === user &&
      r.verb === verb &&
      (status === undefined || r.status === status),
  ).length;
}

describe('LeaderElector', () => {
  it('of two candidates, exactly one leads, and keeps leading while it renews', async () => {
    const a = elector('a');
    const b = elector('b');
    let startedB = 0;
    let startedA = 0;
    a.onStartedLeading(() => startedA++);
    b.onStartedLeading(() => startedB++);
    a.start();
    b.start();
    const first = await within(Promise.race([leading(a), leading(b)]), 2000, 'a leader');
    expect(first).toBeGreaterThan(0);
    const [leader, follower, user] = a.isLeader() ? [a, b, USERS.a] : [b, a, USERS.b];
    // Several lease durations of renewals, waited for by count rather than by a sleep.
    const renewals = leaseCalls(user, 'update');
    await api.waitFor(() => leaseCalls(user, 'update', 200) >= renewals + 15, 5000);
    expect(leader.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);
    expect(startedA + startedB).toBe(1);
    expect(lease()?.spec.holderIdentity).toBe(leader.identity);
    // Both read an absent Lease at once: the one whose create lost got AlreadyExists, not leadership.
    const creates = api.requests.filter((r) => r.resource === 'leases' && r.verb === 'create');
    expect(creates.filter((r) => r.status === 201)).toHaveLength(1);
    expect(creates.filter((r) => r.status !== 201).every((r) => r.status === 409)).toBe(true);
  });

  it('writes RFC 3339 micro times, a holder identity with a random suffix, whole-second durations', async () => {
    const e = new LeaderElector(clientFor(api, 'a'), { namespace: 'default', podName: 'gateway-7d9f' });
    electors.push(e);
    expect(e.identity).toMatch(/^gateway-7d9f_[0-9a-f]{10}$/);
    const other = new LeaderElector(clientFor(api, 'a'), { namespace: 'default', podName: 'gateway-7d9f' });
    expect(other.identity).not.toBe(e.identity);
    e.start();
    await within(leading(e), 2000, 'leading');
    const spec = lease()!.spec as Record<string, unknown>;
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(spec.acquireTime).toMatch(/\.\d{6}Z$/);
    expect(spec).toMatchObject({ leaseDurationSeconds: 15, leaseTransitions: 0, holderIdentity: e.identity });
  });

  it('a killed leader (no release) is replaced once its lease has expired, not before', async () => {
    const a = elector('a');
    a.start();
    await within(leading(a), 2000, 'a leading');
    const b = elector('b');
    b.start();
    // b has seen a's lease being renewed before a dies.
    await api.waitForRequest({ verb: 'get', resource: 'leases' });
    await api.waitFor(() => leaseCalls(USERS.b, 'get') >= 3, 2000);
    const lastWriteByA = lastWriteBy(a.identity);
    await api.waitFor(() => lastWriteByA() > 0, 2000);
    a.stop();
    const tookOverAt = await within(leading(b), 3000, 'b taking over');
    const elapsed = tookOverAt - lastWriteByA();
    // b counts the lease from when it saw a's last renewal, which is after the API server stored it.
    expect(elapsed).toBeGreaterThanOrEqual(LEASE);
    // b saw that renewal at most a retry period late; the second period is headroom for request latency.
    expect(elapsed).toBeLessThanOrEqual(LEASE + 2 * RETRY);
    expect(lease()?.spec).toMatchObject({ holderIdentity: b.identity, leaseTransitions: 1 });
  });

  it('a graceful release hands over at the next retry, well before the lease would expire', async () => {
    const a = elector('a');
    a.start();
    await within(leading(a), 2000, 'a leading');
    const b = elector('b');
    let stoppedA = 0;
    a.onStoppedLeading(() => stoppedA++);
    b.start();
    await api.waitFor(() => leaseCalls(USERS.b, 'get') >= 2, 2000);
    const releasedAt = Date.now();
    await a.release();
    expect(a.isLeader()).toBe(false);
    expect(stoppedA).toBe(1);
    const tookOverAt = await within(leading(b), 2000, 'b taking over');
    // Before the lease could have run out (measured from the release, later than a's last renewal):
    // b took the released Lease, it did not wait for expiry.
    expect(tookOverAt - releasedAt).toBeLessThan(LEASE);
    expect(lease()?.spec).toMatchObject({ holderIdentity: b.identity, leaseTransitions: 1 });
    // Releasing what one does not hold writes nothing.
    const writes = leaseCalls(USERS.a, 'update');
    await a.release();
    expect(leaseCalls(USERS.a, 'update')).toBe(writes);
  });

  it('a leader cut off from the API server steps down within the renew deadline, before the lease expires', async () => {
    const log = new RecordingLogger();
    const a = elector('a', { logger: log });
    a.start();
    await within(leading(a), 2000, 'a leading');
    const lastWriteByA = lastWriteBy(a.identity);
    await api.waitFor(() => lastWriteByA() > 0, 2000);
    const stopped = notLeading(a);
    await api.down();
    const stoppedAt = await within(stopped, 2000, 'a stepping down');
    expect(stoppedAt - lastWriteByA()).toBeLessThan(LEASE);
    expect(a.isLeader()).toBe(false);
    expect(log.at('warn').some((l) => l.msg.includes('Unreachable') || l.msg.includes('ECONNREFUSED'))).toBe(
      true,
    );
    // It keeps trying, and leads again once the API server is back.
    await api.up();
    await within(leading(a), 3000, 'a leading again');
  });

  it('losing an update race (409) means no leadership until a later attempt wins', async () => {
    const log = new RecordingLogger();
    api.apply({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ingress-gateway-leader', namespace: 'default' },
      spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 },
    });
    api.failNext({ verb: 'update', resource: 'leases', status: 409 });
    const a = elector('a', { logger: log });
    let started = 0;
    a.onStartedLeading(() => started++);
    a.start();
    await within(leading(a), 2000, 'a leading');
    expect(started).toBe(1);
    expect(leaseCalls(USERS.a, 'update', 409)).toBe(1);
    expect(log.at('info').some((l) => l.msg.includes('wrote the lease first'))).toBe(true);
    expect(lease()?.spec).toMatchObject({ holderIdentity: a.identity, leaseTransitions: 5 });
  });

  it('a denied update is logged once as an error naming verb and resource, and gives no leadership', async () => {
    const log = new RecordingLogger();
    api.apply({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'ingress-gateway-leader', namespace: 'default' },
      spec: { holderIdentity: '' },
    });
    api.deny({ verb: 'update', resource: 'leases' });
    const a = elector('a', { logger: log });
    a.start();
    await api.waitFor(() => leaseCalls(USERS.a, 'update', 403) >= 4, 3000);
    expect(a.isLeader()).toBe(false);
    const errors = log.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('update leases.coordination.k8s.io default/ingress-gateway-leader: 403');
    expect(errors[0]!.msg).toContain('cannot update resource "leases"');
    expect(errors[0]!.obj).toMatchObject({ verb: 'update', resource: 'leases.coordination.k8s.io' });
  });

  it('judges expiry by its own observation, so a clock far ahead does not take a live lease', async () => {
    const a = elector('a');
    a.start();
    await within(leading(a), 2000, 'a leading');
    const b = elector('b', { now: () => Date.now() + 3_600_000 });
    b.start();
    await api.waitFor(() => leaseCalls(USERS.b, 'get') >= 15, 5000);
    expect(b.isLeader()).toBe(false);
    expect(a.isLeader()).toBe(true);
  });

  it('refuses durations with which a leader could outlive its lease', () => {
    const client = clientFor(api, 'a');
    expect(
      () => new LeaderElector(client, { namespace: 'd', leaseDurationMs: 1000, renewDeadlineMs: 1000 }),
    ).toThrow(/greater than the renew deadline/);
    expect(
      () => new LeaderElector(client, { namespace: 'd', renewDeadlineMs: 2000, retryPeriodMs: 2000 }),
    ).toThrow(/renew deadline must exceed/);
  });
});
