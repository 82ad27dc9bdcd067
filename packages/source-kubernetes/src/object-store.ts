// The objects of the cluster as the gateway reads them: validated once per version, as a file's are;
// an object in error is kept out with its diagnostics, the others are served. Also knows which Services
// and Secrets an Ingress refers to, so a change to one that nothing refers to causes no rebuild.
import {
  type Diagnostic,
  type EndpointObjects,
  type EndpointSlice,
  type Endpoints,
  type Ingress,
  type IngressClass,
  type Kind,
  type KubeObject,
  type Secret,
  type Service,
  type Snapshot,
  type SnapshotResult,
  type SourcedObject,
  validateObject,
} from '@gateway/manifests';
import type { IngressObject, IngressView } from './ingress-status.js';

export type ObjectKey = string;

/** `namespace/name` of the Service a raw EndpointSlice belongs to (its `kubernetes.io/service-name` label). */
export function serviceOfSlice(raw: KubeObject): ObjectKey | undefined {
  const service = raw.metadata.labels?.['kubernetes.io/service-name'];
  return service === undefined ? undefined : `${raw.metadata.namespace ?? 'default'}/${service}`;
}

/** `namespace/name` (`name` for IngressClass). */
export function keyOf(raw: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  const m = raw.metadata ?? {};
  return m.namespace === undefined || m.namespace === '' ? (m.name ?? '') : `${m.namespace}/${m.name ?? ''}`;
}

const KINDS: readonly Kind[] = ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Endpoints', 'Secret'];

export class ObjectStore {
  private readonly objects = new Map<Kind, Map<ObjectKey, SourcedObject>>(KINDS.map((k) => [k, new Map()]));
  /** Objects left out, by `kind/key`: their diagnostics are part of every snapshot. */
  private readonly invalid = new Map<string, Diagnostic[]>();
  /** Arrival order by uid: the tie-break after creationTimestamp, stable across updates. */
  private readonly orders = new Map<string, number>();
  private nextOrder = 0;
  private services = new Set<ObjectKey>();
  private secrets = new Set<ObjectKey>();
  /**
   * EndpointSlice keys by the Service they belong to: an endpoints-only refresh reads just these. One
   * key where the Service has one slice (nearly always, below 100 endpoints), a Set where it has more.
   */
  private readonly slicesByService = new Map<ObjectKey, ObjectKey | Set<ObjectKey>>();

  /**
   * Validates and stores (or replaces) an object; an invalid one replaces the valid one it updates.
   * Returns the valid object it replaced, if any.
   */
  upsert(kind: Kind, raw: KubeObject): SourcedObject | undefined {
    const key = keyOf(raw);
    const uid = raw.metadata.uid ?? `${kind}/${key}`;
    let order = this.orders.get(uid);
    if (order === undefined) {
      order = this.nextOrder++;
      this.orders.set(uid, order);
    }
    const { object, diagnostics } = validateObject(raw, { order });
    const map = this.objects.get(kind)!;
    const previous = map.get(key);
    const id = `${kind}/${key}`;
    if (object === undefined || diagnostics.some((d) => d.severity === 'error')) {
      map.delete(key);
      this.invalid.set(id, diagnostics);
      return previous;
    }
    if (diagnostics.length > 0) this.invalid.set(id, diagnostics);
    else this.invalid.delete(id);
    map.set(key, { object, source: { order } });
    if (kind === 'EndpointSlice') {
      const service = serviceOfSlice(raw);
      if (service !== undefined) {
        const keys = this.slicesByService.get(service);
        if (keys === undefined) this.slicesByService.set(service, key);
        else if (typeof keys === 'string') {
          if (keys !== key) this.slicesByService.set(service, new Set([keys, key]));
        } else keys.add(key);
      }
    }
    return previous;
  }

  remove(kind: Kind, raw: KubeObject): void {
    const key = keyOf(raw);
    this.objects.get(kind)!.delete(key);
    if (kind === 'EndpointSlice') {
      const service = serviceOfSlice(raw);
      const keys = service === undefined ? undefined : this.slicesByService.get(service);
      if (keys === key) this.slicesByService.delete(service!);
      else if (typeof keys === 'object') {
        keys.delete(key);
        if (keys.size === 0) this.slicesByService.delete(service!);
      }
    }
    this.invalid.delete(`${kind}/${key}`);
    if (raw.metadata.uid !== undefined) this.orders.delete(raw.metadata.uid);
  }

  get(kind: Kind, key: ObjectKey): SourcedObject | undefined {
    return this.objects.get(kind)!.get(key);
  }

  /** Recomputes which Services and Secrets the Ingresses refer to; call once per rebuild. */
  refreshReferences(): void {
    const services = new Set<ObjectKey>();
    const secrets = new Set<ObjectKey>();
    for (const { object } of this.objects.get('Ingress')!.values()) {
      const ingress = object as Ingress;
      const ns = ingress.metadata.namespace ?? 'default';
      const spec = ingress.spec;
      if (spec?.defaultBackend?.service !== undefined)
        services.add(`${ns}/${spec.defaultBackend.service.name}`);
      for (const rule of spec?.rules ?? []) {
        for (const path of rule.http?.paths ?? []) {
          if (path.backend.service !== undefined) services.add(`${ns}/${path.backend.service.name}`);
        }
      }
      for (const tls of spec?.tls ?? []) if (tls.secretName) secrets.add(`${ns}/${tls.secretName}`);
    }
    this.services = services;
    this.secrets = secrets;
  }

  referencesService(key: ObjectKey): boolean {
    return this.services.has(key);
  }

  referencesSecret(key: ObjectKey): boolean {
    return this.secrets.has(key);
  }

  /** The EndpointSlices of these Services (`namespace/name`), as an endpoints-only refresh reads them. */
  slicesOf(services: ReadonlySet<ObjectKey>): EndpointObjects {
    const slices = this.objects.get('EndpointSlice')!;
    const found: SourcedObject<EndpointSlice>[] = [];
    for (const service of services) {
      const keys = this.slicesByService.get(service);
      for (const key of typeof keys === 'string' ? [keys] : (keys ?? [])) {
        const slice = slices.get(key);
        if (slice !== undefined) found.push(slice as SourcedObject<EndpointSlice>);
      }
    }
    return { endpointSlices: found, endpoints: [] };
  }

  /** The Ingresses as stored (with resourceVersion and status), for the status writer. */
  ingressView(): IngressView {
    const ingresses = this.objects.get('Ingress')!;
    return {
      get: (namespace, name) => ingresses.get(`${namespace}/${name}`)?.object as IngressObject | undefined,
      all: function* () {
        for (const { object } of ingresses.values()) yield object as IngressObject;
      },
    };
  }

  snapshot(): SnapshotResult {
    const list = <T extends KubeObject>(kind: Kind) =>
      Object.freeze([...this.objects.get(kind)!.values()]) as readonly SourcedObject<T>[];
    const snapshot: Snapshot = Object.freeze({
      ingresses: list<Ingress>('Ingress'),
      ingressClasses: list<IngressClass>('IngressClass'),
      services: list<Service>('Service'),
      endpointSlices: list<EndpointSlice>('EndpointSlice'),
      endpoints: list<Endpoints>('Endpoints'),
      secrets: list<Secret>('Secret'),
    });
    return { snapshot, diagnostics: [...this.invalid.values()].flat() };
  }
}

/**
 * True when an update changed nothing the configuration reads: a status write (ours, or another
 * controller's), a resourceVersion or managedFields bump. Such an Ingress event needs no rebuild.
 */
export function onlyStatusChanged(previous: KubeObject, next: KubeObject): boolean {
  const a = previous as Ingress;
  const b = next as Ingress;
  return (
    JSON.stringify(a.spec) === JSON.stringify(b.spec) &&
    JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {}) &&
    a.metadata.creationTimestamp === b.metadata.creationTimestamp
  );
}
