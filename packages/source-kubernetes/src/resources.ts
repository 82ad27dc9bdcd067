// The kinds the gateway watches, and where the API serves them.
import type { Kind } from '@gateway/manifests';

export interface WatchedKind {
  readonly kind: Kind;
  readonly apiVersion: string;
  /** '' for the core group. */
  readonly group: string;
  readonly resource: string;
  readonly namespaced: boolean;
  /** Only these objects are listed and watched (Secrets: TLS ones alone ever reach the gateway). */
  readonly fieldSelector?: string;
}

export const TLS_SECRETS = 'type=kubernetes.io/tls';

/** Endpoints (core v1) are not watched in a cluster: every supported version serves EndpointSlices. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  {
    kind: 'IngressClass',
    apiVersion: 'networking.k8s.io/v1',
    group: 'networking.k8s.io',
    resource: 'ingressclasses',
    namespaced: false,
  },
  {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    group: 'networking.k8s.io',
    resource: 'ingresses',
    namespaced: true,
  },
  { kind: 'Service', apiVersion: 'v1', group: '', resource: 'services', namespaced: true },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    group: 'discovery.k8s.io',
    resource: 'endpointslices',
    namespaced: true,
  },
  {
    kind: 'Secret',
    apiVersion: 'v1',
    group: '',
    resource: 'secrets',
    namespaced: true,
    fieldSelector: TLS_SECRETS,
  },
];

/** `/api/v1/…` or `/apis/GROUP/VERSION/…`, in one namespace or across all. */
export function collectionPath(
  k: Pick<WatchedKind, 'apiVersion' | 'group' | 'namespaced' | 'resource'>,
  namespace?: string,
): string {
  const base = k.group === '' ? `/api/${k.apiVersion}` : `/apis/${k.apiVersion}`;
  return k.namespaced && namespace !== undefined
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.resource}`
    : `${base}/${k.resource}`;
}

/** `ingresses.networking.k8s.io`, `services`: as RBAC and the API's messages name a resource. */
export function qualifiedResource(k: Pick<WatchedKind, 'group' | 'resource'>): string {
  return k.group === '' ? k.resource : `${k.resource}.${k.group}`;
}
