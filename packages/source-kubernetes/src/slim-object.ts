// What the gateway keeps of an object from the API server. `metadata.managedFields` (server-side apply's
// bookkeeping, on every object since Kubernetes 1.18, often as large as the spec) and kubectl's
// `last-applied-configuration` annotation (a JSON copy of the whole object) are read by nothing here,
// so they are dropped before the object is stored, as controller-runtime's
// TransformStripManagedFields does for client-go informers. So are an EndpointSlice endpoint's
// `targetRef` (the Pod: an object and three strings per endpoint), `hints` and `deprecatedTopology`:
// the gateway routes by address, port and conditions alone.
import type { KubeObject } from '@gateway/manifests';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import type { ClusterAccess } from './kube-config.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * `object` without those fields. The object is changed in place; its metadata is rebuilt rather than
 * `delete`d from, which would turn it into a slower, larger dictionary-mode object.
 */
export function slimObject<T extends { metadata?: KubeObject['metadata'] }>(object: T): T {
  const metadata = object?.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (metadata === undefined || metadata === null) return object;
  if ((object as { kind?: string }).kind === 'EndpointSlice') slimEndpoints(object as SliceLike);
  const annotations = metadata.annotations;
  const lastApplied = annotations !== undefined && annotations !== null && LAST_APPLIED in annotations;
  if (metadata.managedFields === undefined && !lastApplied) return object;
  const { managedFields: _, ...slim } = metadata;
  if (lastApplied) {
    const { [LAST_APPLIED]: __, ...rest } = annotations;
    slim.annotations = rest;
  }
  object.metadata = slim;
  return object;
}

interface SliceLike {
  endpoints?: Array<
    Record<string, unknown> & { targetRef?: unknown; hints?: unknown; deprecatedTopology?: unknown }
  >;
}

/** In place, endpoint by endpoint; an endpoint is rebuilt rather than `delete`d from (as metadata above). */
function slimEndpoints(slice: SliceLike): void {
  const endpoints = slice.endpoints;
  if (!Array.isArray(endpoints)) return;
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint = endpoints[i];
    if (endpoint === null || typeof endpoint !== 'object') continue;
    if (
      endpoint.targetRef === undefined &&
      endpoint.hints === undefined &&
      endpoint.deprecatedTopology === undefined
    )
      continue;
    const { targetRef: _, hints: __, deprecatedTopology: ___, ...kept } = endpoint;
    endpoints[i] = kept;
  }
}

type WatchArgs = Parameters<Watch['watch']>;

/**
 * A Watch whose events' objects are slimmed (and converted to the version the gateway reads) before
 * the informer sees and caches them.
 */
export class SlimWatch extends Watch {
  constructor(
    config: ClusterAccess,
    private readonly convert: (object: KubeObject) => KubeObject = (o) => o,
  ) {
    // Watch reads nothing of its config but these two methods (a KubeConfig or our KubeAccess).
    super(config as KubeConfig);
  }

  override watch(
    path: WatchArgs[0],
    queryParams: WatchArgs[1],
    callback: WatchArgs[2],
    done: WatchArgs[3],
  ): Promise<AbortController> {
    const slimmed: WatchArgs[2] = (phase, object, event) =>
      callback(
        phase,
        phase === 'ERROR' || phase === 'BOOKMARK' ? object : this.convert(slimObject(object)),
        event,
      );
    return super.watch(path, queryParams, slimmed, done);
  }
}
