// Ready endpoints per backend, kept apart from routes: an EndpointSlice change swaps this table and
// recompiles nothing else (balancer state, keyed by backend, survives it).
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
import type { EndpointSlice, Endpoints, Snapshot, SourcedObject } from '@gateway/manifests';
import { ObjectMemo } from '@gateway/routing';
import type { Backend, Endpoint, EndpointTable, GatewayConfig } from './config.js';
import { namespaceOf } from './diagnostics.js';
import { compareStrings } from './ingress-order.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Endpoints by port name of a Service's only EndpointSlice; gone with the slice object. */
const ONE_SLICE = new ObjectMemo<SourcedObject<EndpointSlice>, Map<string, readonly Endpoint[]>>(
  'endpoints of a lone slice',
);

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
    // With `only`, most slices are not wanted: test the label's name before building the key.
    const names = only === undefined ? undefined : new Set([...only].map((k) => k.slice(k.indexOf('/') + 1)));
    for (const slice of snapshot.endpointSlices) {
      if (names !== undefined && !names.has(slice.object.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''))
        continue;
      const key = serviceOfSlice(slice);
      if (key === undefined || (only !== undefined && !only.has(key))) continue;
      const list = this.#slices.get(key);
      if (list === undefined) this.#slices.set(key, [slice]);
      else list.push(slice);
    }
    for (const item of snapshot.endpoints) {
      if (names !== undefined && !names.has(item.object.metadata.name)) continue;
      const key = `${namespaceOf(item)}/${item.object.metadata.name}`;
      if (only === undefined || only.has(key)) this.#endpoints.set(key, item);
    }
  }

  /**
   * Ready endpoints of the EndpointSlices of Service `key` (merged, deduplicated), else of its Endpoints
   * object; the endpoint port is the one named `portName`, as kube-proxy matches them.
   */
  endpointsOf(key: string, portName: string): readonly Endpoint[] {
    const slices = this.#slices.get(key);
    // One slice per Service is the common case; its endpoints are a pure function of that object, so a
    // source that keeps unchanged objects (the cluster cache) recomputes nothing on a rebuild.
    if (slices?.length === 1) {
      const slice = slices[0]!;
      let byPort = ONE_SLICE.get(slice);
      if (byPort === undefined) {
        byPort = new Map();
        ONE_SLICE.set(slice, byPort);
      }
      const known = byPort.get(portName);
      if (known !== undefined) return known;
      const endpoints = this.#compute(slices, key, portName);
      byPort.set(portName, endpoints);
      return endpoints;
    }
    return this.#compute(slices, key, portName);
  }

  #compute(
    slices: readonly SourcedObject<EndpointSlice>[] | undefined,
    key: string,
    portName: string,
  ): readonly Endpoint[] {
    const found: Endpoint[] = [];
    if (slices !== undefined) {
      for (const { object } of slices) {
        const port = portNamed(object.ports, portName);
        if (port === undefined) continue;
        for (const endpoint of object.endpoints ?? []) {
          // An absent `ready` means ready (the API: "unknown state ... should be interpreted as ready").
          if (endpoint.conditions?.ready === false) continue;
          for (const address of endpoint.addresses) found.push({ address, port });
        }
      }
    } else {
      for (const subset of this.#endpoints.get(key)?.object.subsets ?? []) {
        const port = portNamed(subset.ports, portName);
        if (port === undefined) continue;
        for (const address of subset.addresses ?? []) found.push({ address: address.ip, port });
      }
    }
    // The common case (one slice, addresses in order) needs neither a Map nor a sort.
    return strictlyOrdered(found) ? found : deduplicated(found);
  }
}

function portNamed(
  ports: readonly { readonly name?: string | undefined; readonly port?: number | undefined }[] | undefined,
  name: string,
): number | undefined {
  if (ports === undefined) return undefined;
  for (const p of ports) if ((p.name ?? '') === name) return p.port;
  return undefined;
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.address, b.address) || a.port - b.port;
}

/** Sorted with no duplicate: what `deduplicated` would return unchanged. */
function strictlyOrdered(list: readonly Endpoint[]): boolean {
  for (let i = 1; i < list.length; i++) if (compareEndpoints(list[i - 1]!, list[i]!) >= 0) return false;
  return true;
}

/** Merged (one per address and port; the last one seen, as a Map keeps it) and sorted. */
function deduplicated(list: readonly Endpoint[]): Endpoint[] {
  const found = new Map<string, Endpoint>();
  for (const e of list) found.set(`${e.address}\u0000${e.port}`, e);
  return [...found.values()].sort(compareEndpoints);
}

/** The backends of each Service (`namespace/name`) of a configuration, in key order; built once per one. */
const backendsByServiceOf = new WeakMap<ReadonlyMap<string, Backend>, Map<string, Backend[]>>();

/**
 * `backends` grouped by Service key (`namespace/name`), in their order. Cached per `backends` map, which
 * an endpoints-only swap keeps: an EndpointSlice change finds its backends without a loop over all.
 */
export function backendsByService(
  backends: ReadonlyMap<string, Backend>,
): ReadonlyMap<string, readonly Backend[]> {
  let index = backendsByServiceOf.get(backends);
  if (index === undefined) {
    index = new Map();
    for (const backend of backends.values()) {
      const key = serviceKeyOf(backend);
      const list = index.get(key);
      if (list === undefined) index.set(key, [backend]);
      else list.push(backend);
    }
    backendsByServiceOf.set(backends, index);
  }
  return index;
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
  const byService = backendsByService(config.backends);
  let index: EndpointIndex | undefined;
  let changed: Map<string, readonly Endpoint[]> | undefined;
  for (const service of services) {
    for (const backend of byService.get(service) ?? []) {
      if (backend.portName === undefined) continue;
      index ??= new EndpointIndex(snapshot, services);
      const fresh = index.endpointsOf(service, backend.portName);
      if (sameEndpoints(config.endpoints.get(backend.key), fresh)) continue;
      changed ??= new Map();
      changed.set(backend.key, fresh);
    }
  }
  return changed === undefined ? config.endpoints : withEntries(config.endpoints, changed);
}

/** Entries set on a table before it is copied whole: lookups stay two Map reads at most. */
const LAYER_MAX = 256;

/**
 * `table` with `changed` entries set (keys of `table` or new ones), without copying `table`: an
 * EndpointSlice change at 10,000 backends copied a 10,000-entry Map for one entry (1-4 ms and half a
 * megabyte of garbage each time, measured). Changes gather over one base table until there are
 * LAYER_MAX, then the whole is copied once.
 */
export function withEntries(
  table: EndpointTable,
  changed: ReadonlyMap<string, readonly Endpoint[]>,
): EndpointTable {
  const base = table instanceof LayeredEndpointTable ? table.base : table;
  const all = table instanceof LayeredEndpointTable ? new Map([...table.changed, ...changed]) : changed;
  if (all.size <= LAYER_MAX) return new LayeredEndpointTable(base, all);
  const flat = new Map(base);
  for (const [key, list] of all) flat.set(key, list);
  return flat;
}

/** A base table with some entries set over it; read as the Map it stands for (same entries, same order). */
export class LayeredEndpointTable implements ReadonlyMap<string, readonly Endpoint[]> {
  constructor(
    readonly base: ReadonlyMap<string, readonly Endpoint[]>,
    readonly changed: ReadonlyMap<string, readonly Endpoint[]>,
  ) {}

  get(key: string): readonly Endpoint[] | undefined {
    const set = this.changed.get(key);
    return set !== undefined ? set : this.base.get(key);
  }

  has(key: string): boolean {
    return this.changed.has(key) || this.base.has(key);
  }

  get size(): number {
    let n = this.base.size;
    for (const key of this.changed.keys()) if (!this.base.has(key)) n++;
    return n;
  }

  *entries(): MapIterator<[string, readonly Endpoint[]]> {
    for (const [key, list] of this.base) yield [key, this.changed.get(key) ?? list];
    for (const [key, list] of this.changed) if (!this.base.has(key)) yield [key, list];
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<readonly Endpoint[]> {
    for (const [, list] of this.entries()) yield list;
  }

  forEach(
    callback: (
      value: readonly Endpoint[],
      key: string,
      map: ReadonlyMap<string, readonly Endpoint[]>,
    ) => void,
    thisArg?: unknown,
  ): void {
    for (const [key, list] of this.entries()) callback.call(thisArg, list, key, this);
  }

  [Symbol.iterator](): MapIterator<[string, readonly Endpoint[]]> {
    return this.entries();
  }
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
