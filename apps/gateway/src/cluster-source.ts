// Cluster mode: the Kubernetes source and Ingress status, in a module the gateway imports only in
// cluster mode, so a standalone gateway never loads @kubernetes/client-node's Watch nor undici.
// Status: the replica holding the Lease writes the gateway's address into every Ingress it serves and
// clears it from those it stopped serving; never on the request path, never blocking a swap.
import { hostname } from 'node:os';
import {
  IngressStatusWriter,
  KubernetesSource,
  LeaderElector,
  type Logger,
  loadKubeConfig,
  PublishAddresses,
  type PublishSource,
  parsePublishService,
  parsePublishStatusAddress,
} from '@gateway/source-kubernetes';
import type { Flags } from './flags.js';

/** The source the flags name in cluster mode, and how to start its status writer. */
export async function clusterSource(
  flags: Flags,
  log: Logger,
): Promise<{ source: KubernetesSource; startStatus(): ClusterStatus | undefined }> {
  const { kubeConfig, namespace } = await loadKubeConfig(
    flags.kubeconfig !== undefined ? { path: flags.kubeconfig } : { inCluster: true },
  );
  const source = new KubernetesSource({
    kubeConfig,
    namespace: flags.watchNamespace,
    gatewayNamespace: namespace,
    log,
  });
  return { source, startStatus: () => startClusterStatus(source, flags, log) };
}

export interface ClusterStatus {
  /** The Ingresses (`namespace/name`) the configuration just applied serves. */
  setServed(keys: ReadonlySet<string>): void;
  /** Stops writing and hands the Lease back, so another replica takes over at once. */
  close(): Promise<void>;
}

/** Undefined when there is no address to publish (neither --publish-service nor --publish-status-address). */
export function startClusterStatus(
  source: KubernetesSource,
  flags: Flags,
  log: Logger,
): ClusterStatus | undefined {
  const publish: PublishSource | undefined =
    flags.publishStatusAddress !== undefined
      ? { addresses: parsePublishStatusAddress(flags.publishStatusAddress) }
      : flags.publishService !== undefined
        ? { service: parsePublishService(flags.publishService) }
        : undefined;
  if (publish === undefined) {
    log.info({}, 'no --publish-service or --publish-status-address: Ingress status is not written');
    return undefined;
  }
  const leaseMs = flags.electionLeaseDuration * 1000;
  const elector = new LeaderElector(source.client, {
    namespace: source.gatewayNamespace,
    electionId: flags.electionId,
    podName: process.env.POD_NAME || hostname(),
    // client-go's proportions (15 s / 10 s / 2 s) at whatever lease duration is asked for.
    leaseDurationMs: leaseMs,
    renewDeadlineMs: (leaseMs * 2) / 3,
    retryPeriodMs: (leaseMs * 2) / 15,
    logger: log,
  });
  const writer = new IngressStatusWriter({
    api: source.client,
    ingresses: source.ingressView(),
    leadership: elector,
    addresses: new PublishAddresses(source.client, publish, log),
    logger: log,
  });
  elector.onStartedLeading(() => log.info({ identity: elector.identity }, 'leader election: leading'));
  elector.onStoppedLeading(() =>
    log.info({ identity: elector.identity }, 'leader election: stopped leading'),
  );
  source.onIngressEvent(() => writer.resync());
  writer.start();
  elector.start();
  return {
    setServed: (keys) => writer.setServed(keys),
    async close() {
      await writer.close();
      await elector.release();
    },
  };
}
