// Two gateway replicas against a real kube-apiserver v1.20.2 (support/kube-apiserver.ts), both as deploy/'s
// ServiceAccount under deploy/'s RBAC (as the two pods of deploy/'s Deployment would be), elect one leader
// through a real coordination.k8s.io/v1 Lease; only the leader writes Ingress status. Each replica
// publishes its own address (--publish-status-address), so the status shows which one wrote it. The
// leader killed (SIGKILL, no hand-over), the other takes over once the lease runs out and writes its
// address. Another controller's Ingress keeps its own status throughout.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, ROOT } from './support/gateway-process.js';
import { type RealApiServer, startRealApiServer } from './support/kube-apiserver.js';
import { ingress, service } from './support/manifests.js';
import {
  apiRequest,
  GATEWAY_NS,
  GATEWAY_SA,
  GATEWAY_SA_USER,
  ingressStatus,
  put,
  startRealGateway,
  waitFor,
} from './support/real-cluster.js';

const NS = 'rep';
const LEASE_S = 3;
const ADDRESS = { a: '127.0.85.11', b: '127.0.85.12' } as const;
const THEIRS = '127.0.85.99';
type Id = keyof typeof ADDRESS;

let server: RealApiServer;
const replicas = new Map<Id, GatewayProcess>();
const timings: Record<string, number | string> = {};
const t0 = Date.now();

const ours = (name: string) =>
  ingress(NS, name, [{ host: `${name}.rep.test`, service: 'web' }], { ingressClassName: 'ingress-gateway' });

beforeAll(async () => {
  const start = Date.now();
  server = await startRealApiServer({ users: [GATEWAY_SA_USER] });
  timings.apiServerStart = Date.now() - start;
  for (const f of ['00-namespace', '10-serviceaccount', '11-clusterrole', '12-role', '20-ingressclass'])
    await server.kubectl(['apply', '-f', join(ROOT, 'deploy', `${f}.yaml`)]);
  await put(server, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await put(server, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx' },
    spec: { controller: 'k8s.io/ingress-nginx' },
  });
  for (const o of [
    service(NS, 'web'),
    ours('web'),
    ingress(NS, 'theirs', [{ host: 'theirs.rep.test', service: 'web' }], { ingressClassName: 'nginx' }),
  ])
    await put(server, o);
  // The other controller's status, through the status subresource.
  const theirs = await apiRequest(
    server,
    'PATCH',
    `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/theirs/status`,
    { status: { loadBalancer: { ingress: [{ ip: THEIRS }] } } },
    { contentType: 'application/merge-patch+json' },
  );
  expect(theirs.status, theirs.body).toBe(200);
  const started = await Promise.all(
    (Object.keys(ADDRESS) as Id[]).map((id) =>
      startRealGateway(server, GATEWAY_SA, [
        '--publish-status-address',
        ADDRESS[id],
        '--election-lease-duration',
        String(LEASE_S),
      ]),
    ),
  );
  replicas.set('a', started[0]!);
  replicas.set('b', started[1]!);
}, 120_000);

afterAll(async () => {
  for (const gw of replicas.values()) await gw.stop('SIGKILL');
  await server?.stop();
  console.log(
    `real-apiserver-replicas timings (ms): ${JSON.stringify({ ...timings, total: Date.now() - t0 })}`,
  );
});

const leadingLine = (gw: GatewayProcess) => gw.logs.find((l) => l.msg === 'leader election: leading');
const statusWrites = (gw: GatewayProcess) => gw.logs.filter((l) => l.msg === 'ingress status updated');

interface Lease {
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: string;
    leaseTransitions?: number;
  };
}
const lease = async () =>
  (
    await apiRequest(
      server,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NS}/leases/ingress-gateway-leader`,
    )
  ).json<Lease>();

describe('two replicas on a real API server', () => {
  let leader: Id;
  let follower: Id;

  it('elect one leader through the Lease; only it writes Ingress status', async () => {
    const elected = Date.now();
    await waitFor('a leader', async () => [...replicas.values()].some((gw) => leadingLine(gw)), 15_000);
    timings.elected = Date.now() - elected;
    const leaders = (Object.keys(ADDRESS) as Id[]).filter((id) => leadingLine(replicas.get(id)!));
    expect(leaders).toHaveLength(1);
    leader = leaders[0]!;
    follower = leader === 'a' ? 'b' : 'a';
    timings.firstLeader = leader;
    const identity = leadingLine(replicas.get(leader)!)!.identity as string;
    const l = await lease();
    expect(l.spec.holderIdentity).toBe(identity);
    expect(l.spec.leaseDurationSeconds).toBe(LEASE_S);
    await waitFor(
      'the leader’s address in status',
      async () => (await ingressStatus(server, NS, 'web')) === ADDRESS[leader],
    );
    // A lease duration and more: the Lease is renewed by the same holder, the follower never leads and
    // never writes (it would write its own address), the other controller's Ingress is left alone.
    await put(server, ours('second'));
    await waitFor(
      'the second Ingress',
      async () => (await ingressStatus(server, NS, 'second')) === ADDRESS[leader],
    );
    const renewed = l.spec.renewTime;
    await new Promise((r) => setTimeout(r, (LEASE_S + 1) * 1000));
    const later = await lease();
    expect(later.spec.holderIdentity).toBe(identity);
    expect(later.spec.renewTime).not.toBe(renewed);
    expect(await ingressStatus(server, NS, 'web')).toBe(ADDRESS[leader]);
    expect(await ingressStatus(server, NS, 'second')).toBe(ADDRESS[leader]);
    expect(await ingressStatus(server, NS, 'theirs')).toBe(THEIRS);
    expect(leadingLine(replicas.get(follower)!)).toBeUndefined();
    expect(statusWrites(replicas.get(follower)!)).toEqual([]);
    expect(
      statusWrites(replicas.get(leader)!)
        .map((l) => l.ingress)
        .sort(),
    ).toEqual(['second', 'web']);
    // Both serve traffic regardless of leadership.
    for (const gw of replicas.values()) expect(gw.logs.some((l) => l.msg === 'synced: ready')).toBe(true);
    for (const gw of replicas.values()) expect(gw.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });

  it('the leader killed: the other takes over within the lease duration, and writes its address', async () => {
    const before = await lease();
    const killedAt = Date.now();
    await replicas.get(leader)!.stop('SIGKILL');
    replicas.delete(leader);
    const next = replicas.get(follower)!;
    const line = await next.waitForLog((l) => l.msg === 'leader election: leading', 4 * LEASE_S * 1000);
    const tookMs = Date.now() - killedAt;
    timings.takeover = tookMs;
    // The lease runs out at most LEASE_S after the last renewal; the follower looks every retry
    // period (LEASE_S × 2/15). A margin for a loaded machine.
    expect(tookMs).toBeLessThan(LEASE_S * 1000 + 2000);
    const after = await lease();
    expect(after.spec.holderIdentity).toBe(line.identity);
    expect(after.spec.leaseTransitions).toBe((before.spec.leaseTransitions ?? 0) + 1);
    // Every Ingress we serve now carries the new leader's address; a new one too; theirs is untouched.
    await put(server, ours('third'));
    const written = Date.now();
    await waitFor(
      'the new leader’s address everywhere',
      async () =>
        (await ingressStatus(server, NS, 'web')) === ADDRESS[follower] &&
        (await ingressStatus(server, NS, 'second')) === ADDRESS[follower] &&
        (await ingressStatus(server, NS, 'third')) === ADDRESS[follower],
    );
    timings.statusRewritten = Date.now() - written;
    expect(await ingressStatus(server, NS, 'theirs')).toBe(THEIRS);
  });

  it('a graceful stop hands the Lease back at once', async () => {
    const gw = replicas.get(follower)!;
    expect(await gw.stop()).toBe(0);
    replicas.delete(follower);
    const l = await lease();
    expect(l.spec.holderIdentity ?? '').toBe('');
    expect(gw.logs.some((x) => x.msg === 'leader election: lease released')).toBe(true);
  });
});
