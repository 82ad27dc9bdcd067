// An API-server fixture with the objects of a test, and the built CLI in cluster mode against it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServerFixture, type FixtureOptions } from '@gateway/api-server-fixture';
import { type GatewayProcess, startGateway } from './gateway-process.js';
import { request } from './http-client.js';

export interface Cluster {
  api: ApiServerFixture;
  kubeconfig: string;
  stop(): Promise<void>;
}

export async function startCluster(objects: object[], options: FixtureOptions = {}): Promise<Cluster> {
  const api = await ApiServerFixture.start({ ...options, objects });
  const dir = await mkdtemp(join(tmpdir(), 'gw-cluster-'));
  const kubeconfig = await api.writeKubeconfig(dir, { namespace: 'ingress-gateway' });
  return { api, kubeconfig, stop: () => api.stop() };
}

/** The gateway on `cluster`; resolves once it listens (not necessarily synced: see `ready`). */
export function startClusterGateway(cluster: Cluster, args: string[] = []): Promise<GatewayProcess> {
  return startGateway(['--kubeconfig', cluster.kubeconfig, ...args]);
}

export async function readyz(gw: GatewayProcess): Promise<number> {
  return (await request(gw.metrics, { path: '/readyz' })).status;
}

/**
 * Polls `probe` (a request through the gateway, say) until it returns a truthy value: how a change is
 * seen in traffic. Bounded; the interval is short because the contract is "within 1 s".
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return { value: v, ms: Date.now() - start };
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `not seen within ${timeoutMs} ms: ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
