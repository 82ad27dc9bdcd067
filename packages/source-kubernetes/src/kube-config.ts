// Where the API server is and who the gateway is to it: the pod's service account (`--kubernetes`) or a
// kubeconfig file (`--kubeconfig`), and the gateway's own namespace (for its Lease).
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The gateway's namespace: POD_NAMESPACE, the service account's, the context's, else `default`. */
  readonly namespace: string;
}

/** Throws with a message naming the file or the missing in-cluster setting. */
export function loadKubeConfig(source: { inCluster: true } | { path: string }): LoadedKubeConfig {
  const kubeConfig = new KubeConfig();
  let namespace: string | undefined = process.env.POD_NAMESPACE || undefined;
  if ('path' in source) {
    try {
      kubeConfig.loadFromFile(source.path);
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${source.path}: ${(err as Error).message}`);
    }
    if (kubeConfig.getCurrentCluster() === null) {
      throw new Error(`kubeconfig ${source.path}: no current context with a cluster`);
    }
    namespace ??= kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  } else {
    if (!process.env.KUBERNETES_SERVICE_HOST) {
      throw new Error('--kubernetes: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
    }
    kubeConfig.loadFromCluster();
    try {
      namespace ??= readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    } catch {
      // Not mounted: fall through to the default.
    }
  }
  return { kubeConfig, namespace: namespace || 'default' };
}
