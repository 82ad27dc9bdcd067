// Black-box: two gateway replicas against one API server elect one leader through a Lease; only it
// writes Ingress status; when it is killed, the other takes over within the lease duration. Status is
// cleared from an Ingress that is no longer served, and never from one another controller owns.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServerFixture } from '@gateway/api-server-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { ingress, service } from './support/manifests.js';

const ADDRESS = '127.0.40.1';
const LEASE_S = 2;
const CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'gateway', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'k8s.io/ingress-gateway' },
};

type StatusOf = { status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } } };
const addressesOf = (api: ApiServerFixture, name: string) =>
  (
    (api.get('ingresses.networking.k8s.io', 'app', name) as StatusOf | undefined)?.status?.loadBalancer
      ?.ingress ?? []
  )
    .map((a) => a.ip ?? a.hostname)
    .join(',');

describe('two replicas', () => {
  let api: ApiServerFixture;
  const replicas = new Map<string, GatewayProcess>();

  beforeAll(async () => {
    api = await ApiServerFixture.start({
      tokens: { a: 'gw-a', b: 'gw-b' },
      objects: [
        CLASS,
        service('app', 'web'),
        ingress('app', 'web', [{ host: 'web.test', service: 'web' }]),
        // Another controller's Ingress with its own status: never touched.
        {
          ...(ingress('app', 'theirs', [{ host: 'theirs.test', service: 'web' }], {
            ingressClassName: 'nginx',
          }) as object),
          status: { loadBalancer: { ingress: [{ ip: '127.0.41.1' }] } },
        },
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), 'gw-status-'));
    for (const id of ['a', 'b']) {
      const kubeconfig = await api.writeKubeconfig(dir, {
        token: id,
        fileName: `${id}.yaml`,
        namespace: 'ingress-gateway',
      });
      const gw = await startGateway([
        '--kubeconfig',
        kubeconfig,
        '--publish-status-address',
        ADDRESS,
        '--election-lease-duration',
        String(LEASE_S),
      ]);
      replicas.set(id, gw);
    }
  });

  afterAll(async () => {
    for (const gw of replicas.values()) await gw.stop('SIGKILL');
    await api?.stop();
  });

  const leaderOf = () =>
    [...replicas].find(([, gw]) => gw.logs.some((l) => l.msg === 'leader election: leading'))?.[0];

  it('elect one leader; only it writes Ingress status', async () => {
    await api.waitFor(() => addressesOf(api, 'web') === ADDRESS, 10_000);
    const leader = leaderOf()!;
    expect(leader).toBeDefined();
    const leaders = [...replicas.values()].filter((gw) =>
      gw.logs.some((l) => l.msg === 'leader election: leading'),
    );
    expect(leaders).toHaveLength(1);
    const writers = new Set(
      api.requests.filter((r) => r.resource === 'ingresses' && r.subresource === 'status').map((r) => r.user),
    );
    expect(writers).toEqual(new Set([`gw-${leader}`]));
    expect(addressesOf(api, 'theirs')).toBe('127.0.41.1');
  });

  it('clears the status of an Ingress it stops serving', async () => {
    api.apply(ingress('app', 'moved', [{ host: 'moved.test', service: 'web' }]));
    await api.waitFor(() => addressesOf(api, 'moved') === ADDRESS, 10_000);
    api.apply(
      ingress('app', 'moved', [{ host: 'moved.test', service: 'web' }], { ingressClassName: 'nginx' }),
    );
    await api.waitFor(() => addressesOf(api, 'moved') === '', 10_000);
    expect(addressesOf(api, 'theirs')).toBe('127.0.41.1');
  });

  it('the leader killed: the other takes over within the lease duration, and writes status', async () => {
    const leader = leaderOf()!;
    const follower = leader === 'a' ? 'b' : 'a';
    const killedAt = Date.now();
    await replicas.get(leader)!.stop('SIGKILL');
    replicas.delete(leader);
    await replicas.get(follower)!.waitForLog((l) => l.msg === 'leader election: leading', 4 * LEASE_S * 1000);
    const tookMs = Date.now() - killedAt;
    // The lease runs out LEASE_S after the last renewal, at most LEASE_S after the kill; the new
    // leader sees that within a retry period. Bounded loosely for a loaded machine.
    expect(tookMs).toBeLessThan(3 * LEASE_S * 1000);
    api.apply(ingress('app', 'after', [{ host: 'after.test', service: 'web' }]));
    await api.waitFor(() => addressesOf(api, 'after') === ADDRESS, 10_000);
    const last = api.requests
      .filter((r) => r.subresource === 'status' && r.name === 'after')
      .map((r) => r.user);
    expect(new Set(last)).toEqual(new Set([`gw-${follower}`]));
  });
});
