// Ready endpoints per backend, kept apart from routes: an EndpointSlice change swaps this table and
// recompiles nothing else (balancer state, keyed by backend, survives it).
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
import type { EndpointSlice, Endpoints, Snapshot, SourcedObject } from '@gateway/manifests';
import type { Backend, Endpoint, EndpointTable, GatewayConfig } from './config.js';
import { namespaceOf } from './diagnostics.js';
import { compareStrings } from './ingress-order.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** `namespace/name` of the Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label). */
export function serviceOfSlice(slice: SourcedObject<EndpointSlice>): string | undefined {
  const service = slice.object.metadata.labels?.[SERVICE_NAME_LABEL];
  return service === undefined ? undefined : `${namespaceOf(slice)}/${service}`;
}

/** The endpoint sources of Services (`namespace/name`), grouped once per snapshot. */
export class EndpointIndex {
  readonly #slices = new Map<string, SourcedObject<EndpointSlice>[]>();
  readonly #endpoints = new Map<string, SourcedObject<Endpoints>>();

  /** `only`: index just these Services (an incremental refresh needs no more). */
  constructor(snapshot: Pick<Snapshot, 'endpointSlices' | 'endpoints'>, only?: ReadonlySet<string>) {
    for (const slice of snapshot.endpointSlices) {
      const key = serviceOfSlice(slice);
      if (key === undefined || (only !== undefined && !only.has(key))) continue;
      const list = this.#slices.get(key);
      if (list === undefined) this.#slices.set(key, [slice]);
      else list.push(slice);
    }
    for (const item of snapshot.endpoints) {
      const key = `${namespaceOf(item)}/${item.object.metadata.name}`;
      if (only === undefined || only.has(key)) this.#endpoints.set(key, item);
    }
  }

  /**
   * Ready endpoints of the EndpointSlices of Service `key` (merged, deduplicated), else of its Endpoints
   * object; the endpoint port is the one named `portName`, as kube-proxy matches them.
   */
  endpointsOf(key: string, portName: string): Endpoint[] {
    const found = new Map<string, Endpoint>();
    const add = (address: string, port: number): void => {
      found.set(`${address}\u0000${port}`, { address, port });
    };
    const slices = this.#slices.get(key);
    if (slices !== undefined) {
      for (const { object } of slices) {
        const port = object.ports?.find((p) => (p.name ?? '') === portName)?.port;
        if (port === undefined) continue;
        for (const endpoint of object.endpoints ?? []) {
          // An absent `ready` means ready (the API: "unknown state ... should be interpreted as ready").
          if (endpoint.conditions?.ready === false) continue;
          for (const address of endpoint.addresses) add(address, port);
        }
      }
    } else {
      for (const subset of this.#endpoints.get(key)?.object.subsets ?? []) {
        const port = subset.ports?.find((p) => (p.name ?? '') === portName)?.port;
        if (port === undefined) continue;
        for (const address of subset.addresses ?? []) add(address.ip, port);
      }
    }
    return [...found.values()].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
  }
}

/**
 * The endpoint table of `config` with the backends of `services` (`namespace/name`) recomputed from
 * `snapshot`: what an EndpointSlice-only change needs. Other entries are shared with the old table.
 * Returns the old table itself when nothing it holds changed.
 */
export function refreshEndpoints(
  config: GatewayConfig,
  snapshot: Pick<Snapshot, 'endpointSlices' | 'endpoints'>,
  services: ReadonlySet<string>,
): EndpointTable {
  const index = new EndpointIndex(snapshot, services);
  let next: Map<string, readonly Endpoint[]> | undefined;
  for (const backend of config.backends.values()) {
    if (backend.portName === undefined || !services.has(serviceKeyOf(backend))) continue;
    const fresh = index.endpointsOf(serviceKeyOf(backend), backend.portName);
    if (sameEndpoints(config.endpoints.get(backend.key), fresh)) continue;
    next ??= new Map(config.endpoints);
    next.set(backend.key, fresh);
  }
  return next ?? config.endpoints;
}

export function serviceKeyOf(backend: Backend): string {
  return `${backend.namespace}/${backend.service}`;
}

function sameEndpoints(a: readonly Endpoint[] | undefined, b: readonly Endpoint[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) {
    if (a[i]!.address !== b[i]!.address || a[i]!.port !== b[i]!.port) return false;
  }
  return true;
}
