import { randomUUID } from 'node:crypto';
import { type KubeObject, qualifiedName, type ResourceType } from './resources.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, kept (until compaction) so a watch from an old resourceVersion can be replayed. */
export interface StoreEvent {
  rv: number;
  type: EventType;
  type_: ResourceType;
  object: KubeObject;
  /** The state before the write: a watch with a selector needs it to turn "stopped matching" into DELETED. */
  previous: KubeObject | undefined;
}

export class StoreError extends Error {
  constructor(
    readonly code: 404 | 409,
    readonly reason: 'NotFound' | 'AlreadyExists' | 'Conflict',
    message: string,
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * An etcd-like store: one resourceVersion counter for every kind, bumped on every write, and a log of
 * writes since the last compaction.
 */
export class Store {
  private rv = 1;
  private compactedRv = -1;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private log: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** Watches and continue tokens from this resourceVersion or older are expired. */
  get compactedResourceVersion(): number {
    return this.compactedRv;
  }

  /**
   * Every resourceVersion up to now becomes too old. The counter moves on by one so that a list made
   * right after compaction returns a resourceVersion that is still watchable.
   */
  compact(): void {
    this.compactedRv = this.rv;
    this.rv++;
    this.log = [];
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events of a type after `rv`, or undefined when `rv` is older than the compaction point. */
  eventsSince(type: ResourceType, rv: number): StoreEvent[] | undefined {
    if (rv <= this.compactedRv) return undefined;
    return this.log.filter((e) => e.type_ === type && e.rv > rv);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    let b = this.objects.get(type);
    if (!b) {
      b = new Map();
      this.objects.set(type, b);
    }
    return b;
  }

  /** Sorted by namespace then name, as etcd keys are. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const all = [...this.bucket(type).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return all
      .map(([, o]) => o)
      .filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }

  /**
   * The objects as they were at `rv` (keyed namespace/name, sorted): what the later pages of a paged
   * list are served from. Undefined when `rv` is older than the compaction point.
   */
  listAt(type: ResourceType, rv: number): [string, KubeObject][] | undefined {
    if (rv <= this.compactedRv) return undefined;
    const state = new Map(this.bucket(type));
    for (const e of [...this.log].reverse()) {
      if (e.rv <= rv) break;
      if (e.type_ !== type) continue;
      const key = objectKey(
        type.namespaced ? e.object.metadata?.namespace : undefined,
        e.object.metadata?.name ?? '',
      );
      if (e.type === 'ADDED') state.delete(key);
      else state.set(key, e.previous!);
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.bucket(type).get(objectKey(type.namespaced ? namespace : undefined, name));
  }

  create(type: ResourceType, obj: KubeObject): KubeObject {
    const name = obj.metadata?.name ?? '';
    if (this.get(type, obj.metadata?.namespace, name)) {
      throw new StoreError(409, 'AlreadyExists', `${qualifiedName(type)} "${name}" already exists`);
    }
    const stored = clone(obj);
    stored.metadata = {
      ...stored.metadata,
      name,
      uid: stored.metadata?.uid ?? randomUUID(),
      creationTimestamp:
        stored.metadata?.creationTimestamp ??
        this.now()
          .toISOString()
          .replace(/\.\d+Z$/, 'Z'),
      generation: stored.metadata?.generation ?? 1,
    };
    return this.commit(type, 'ADDED', stored, undefined);
  }

  /**
   * Replaces a stored object. `expectedRv` is the optimistic-concurrency precondition (a PUT carrying
   * metadata.resourceVersion); `mutate` builds the new state from the stored one.
   */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
    expectedRv?: string,
  ): KubeObject {
    const current = this.get(type, namespace, name);
    if (!current) throw notFound(type, name);
    if (expectedRv !== undefined && expectedRv !== '' && expectedRv !== current.metadata?.resourceVersion) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = clone(mutate(clone(current)));
    // Identity fields belong to the server, whatever the client sent.
    next.metadata = {
      ...next.metadata,
      name,
      namespace: current.metadata?.namespace,
      uid: current.metadata?.uid,
      creationTimestamp: current.metadata?.creationTimestamp,
      generation: current.metadata?.generation ?? 1,
    };
    if (type.namespaced === false) delete next.metadata.namespace;
    if (specOf(next) !== specOf(current)) next.metadata.generation = (current.metadata?.generation ?? 1) + 1;
    return this.commit(type, 'MODIFIED', next, current);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const current = this.get(type, namespace, name);
    if (!current) throw notFound(type, name);
    return this.commit(type, 'DELETED', clone(current), current);
  }

  private commit(type: ResourceType, kind: EventType, obj: KubeObject, previous: KubeObject | undefined) {
    this.rv++;
    obj.metadata = { ...obj.metadata, resourceVersion: String(this.rv) };
    const key = objectKey(type.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name ?? '');
    if (kind === 'DELETED') this.bucket(type).delete(key);
    else this.bucket(type).set(key, obj);
    const event: StoreEvent = { rv: this.rv, type: kind, type_: type, object: obj, previous };
    this.log.push(event);
    for (const l of this.listeners) l(event);
    return clone(obj);
  }
}

/** Everything but metadata and status: what metadata.generation tracks. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

export function notFound(type: ResourceType, name: string): StoreError {
  return new StoreError(404, 'NotFound', `${qualifiedName(type)} "${name}" not found`);
}
