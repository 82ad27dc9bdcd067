// The kinds the gateway watches, and where the API serves them.
import type { Kind, KubeObject } from '@gateway/manifests';

export interface WatchedKind {
  readonly kind: Kind;
  /** The version the rest of the gateway reads (objects are converted to it). */
  readonly apiVersion: string;
  /** The version the API server is asked for, when it differs (`discovery.k8s.io/v1beta1` on 1.20). */
  readonly servedVersion?: string;
  /** Turns an object of `servedVersion` into one of `apiVersion` (in place). */
  readonly convert?: (object: KubeObject) => KubeObject;
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

export type EndpointSliceVersion = 'v1' | 'v1beta1';

/**
 * The kinds to watch on a cluster that serves EndpointSlices as `version`: v1 from Kubernetes 1.21,
 * v1beta1 only on 1.20 (same addresses, conditions and ports; `topology` became `nodeName`/`zone`).
 */
export function watchedKinds(version: EndpointSliceVersion): readonly WatchedKind[] {
  if (version === 'v1') return WATCHED_KINDS;
  return WATCHED_KINDS.map((k) =>
    k.kind === 'EndpointSlice'
      ? { ...k, servedVersion: 'discovery.k8s.io/v1beta1', convert: endpointSliceFromV1beta1 }
      : k,
  );
}

interface V1beta1Endpoint {
  topology?: Record<string, string>;
  nodeName?: string;
  zone?: string;
}

/** discovery.k8s.io/v1beta1 → v1 (in place), as the API server converts it. */
export function endpointSliceFromV1beta1(object: KubeObject): KubeObject {
  const slice = object as KubeObject & { endpoints?: V1beta1Endpoint[] };
  for (const endpoint of slice.endpoints ?? []) {
    const topology = endpoint.topology;
    if (topology === undefined) continue;
    const node = topology['kubernetes.io/hostname'];
    const zone = topology['topology.kubernetes.io/zone'];
    if (endpoint.nodeName === undefined && node !== undefined) endpoint.nodeName = node;
    if (endpoint.zone === undefined && zone !== undefined) endpoint.zone = zone;
    delete endpoint.topology;
  }
  slice.apiVersion = 'discovery.k8s.io/v1' as never;
  return slice;
}

/** `/api/v1/…` or `/apis/GROUP/VERSION/…`, in one namespace or across all. */
export function collectionPath(
  k: Pick<WatchedKind, 'apiVersion' | 'servedVersion' | 'group' | 'namespaced' | 'resource'>,
  namespace?: string,
): string {
  const version = k.servedVersion ?? k.apiVersion;
  const base = k.group === '' ? `/api/${version}` : `/apis/${version}`;
  return k.namespaced && namespace !== undefined
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.resource}`
    : `${base}/${k.resource}`;
}

/** `ingresses.networking.k8s.io`, `services`: as RBAC and the API's messages name a resource. */
export function qualifiedResource(k: Pick<WatchedKind, 'group' | 'resource'>): string {
  return k.group === '' ? k.resource : `${k.resource}.${k.group}`;
}
