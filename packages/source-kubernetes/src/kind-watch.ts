// One informer per kind, kept alive: a list, then a watch from the list's resourceVersion through
// client-node's `Watch`. The loop is client-node's `ListWatch`'s (a watch that ends is re-opened from
// the last resourceVersion, with a growing delay while watches end without an event; a 410 re-lists and
// reports what vanished), written here so its cache is not a second one beside the object store and so
// its module (which loads every generated model of client-node) stays out of the gateway. Any other
// failure (a refused connection, a failed list, a 403) is retried here with a capped, jittered
// back-off, resuming from the last resourceVersion.
import type { KubeObject } from '@gateway/manifests';
import type { ApiClient } from './api-client.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import type { ClusterAccess } from './kube-config.js';
import type { Logger } from './log.js';
import { keyOf } from './object-store.js';
import { collectionPath, qualifiedResource, type WatchedKind } from './resources.js';
import { SlimWatch, slimObject } from './slim-object.js';

export interface KindWatchHandlers {
  upsert(kind: WatchedKind, object: KubeObject): void;
  remove(kind: WatchedKind, object: KubeObject): void;
}

interface ObjectList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

/** Items per page: large clusters are listed in chunks, as client-go's pager does. */
const PAGE_SIZE = 500;
/** ListWatch's delays between watches that end without an event. */
const FIRST_RECONNECT_DELAY_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 30_000;

export class KindWatch {
  readonly resource: string;
  /** Resolves once the kind has been listed (its objects handed over) and its watch is open. */
  readonly listed: Promise<void>;
  private markListed!: () => void;
  private hasListed = false;
  private readonly watcher: SlimWatch;
  private readonly path: string;
  /**
   * The resourceVersion of every object as last seen, by `namespace/name`: what a re-list compares with.
   * Not the objects: the store holds those (validated; a copy where the API's defaults were missing).
   */
  private known = new Map<string, string | undefined>();
  private resourceVersion = '';
  /** The open watch; a new one bumps the generation, so a late `done` of an old one is ignored. */
  private request: AbortController | undefined;
  private generation = 0;
  private reconnectDelayMs = 0;
  private hasConnected = false;
  private reconnect: NodeJS.Timeout | undefined;
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** What the last failure was, so a recovery can be logged once. */
  private failing = false;
  /** A failure was reported since the last start(): the watch is not open. */
  private failedSinceStart = false;

  constructor(
    readonly kind: WatchedKind,
    private readonly client: ApiClient,
    access: ClusterAccess,
    namespace: string | undefined,
    private readonly handlers: KindWatchHandlers,
    private readonly log: Logger,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    this.resource = qualifiedResource(kind);
    this.path = collectionPath(kind, namespace);
    this.listed = new Promise((resolve) => {
      this.markListed = resolve;
    });
    this.watcher = new SlimWatch(access, kind.convert);
  }

  start(): void {
    if (this.closed) return;
    this.failedSinceStart = false;
    this.reconnectDelayMs = 0;
    this.hasConnected = false;
    this.connect(undefined).then(
      () => {
        // connect() resolves once the watch answered, or right after a failure was reported: only a
        // list followed by an open watch makes the kind synced (a gateway that lists but may not watch
        // would serve a state that never changes, so it is not ready).
        if (!this.failedSinceStart && this.hasListed) this.markListed();
      },
      (err: unknown) => this.onError(err),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.reconnect);
    this.generation++;
    this.request?.abort();
    this.request = undefined;
  }

  /** Lists when there is no resourceVersion to resume from, then opens a watch. `ended`: why the last one ended. */
  private async connect(ended: unknown): Promise<void> {
    this.request?.abort();
    this.request = undefined;
    if (this.closed) return;
    const e = ended as { statusCode?: number; code?: number; name?: string } | null | undefined;
    if (e?.statusCode === 410 || e?.code === 410) this.resourceVersion = '';
    else if (e?.name === 'TimeoutError') {
      // The watch was idle for client-node's 30 s: that wait was the delay already.
      this.reconnectDelayMs = 0;
    } else if (e) {
      this.onError(e);
      return;
    }
    if (this.resourceVersion === '') {
      try {
        this.relist(await this.list());
      } catch (err) {
        this.onError(err);
        return;
      }
      if (this.closed) return;
    }
    if (this.reconnectDelayMs > 0 && this.hasConnected) {
      await new Promise((resolve) => {
        this.reconnect = setTimeout(resolve, this.reconnectDelayMs);
      });
      if (this.closed) return;
    }
    if (this.hasConnected) {
      this.reconnectDelayMs = Math.min(
        this.reconnectDelayMs > 0 ? this.reconnectDelayMs * 2 : FIRST_RECONNECT_DELAY_MS,
        MAX_RECONNECT_DELAY_MS,
      );
    }
    this.hasConnected = true;
    const generation = ++this.generation;
    const query: Record<string, string> = { resourceVersion: this.resourceVersion };
    if (this.kind.fieldSelector !== undefined) query.fieldSelector = this.kind.fieldSelector;
    const request = await this.watcher.watch(
      this.path,
      query,
      (phase, object) => {
        if (generation === this.generation) this.onWatchEvent(phase, object as KubeObject);
      },
      (err) => {
        if (generation === this.generation) void this.connect(err ?? undefined);
      },
    );
    if (generation === this.generation) this.request = request;
    else request.abort();
  }

  /** The whole collection, page by page, as plain objects with their kind set (list items carry none), slimmed. */
  private async list(): Promise<ObjectList> {
    const items: KubeObject[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (this.kind.fieldSelector !== undefined) query.set('fieldSelector', this.kind.fieldSelector);
      if (cont !== undefined) query.set('continue', cont);
      const page = await this.client.request<ObjectList>(
        'GET',
        `${this.path}?${query}`,
        `list ${this.resource}`,
      );
      resourceVersion ??= page.metadata.resourceVersion;
      for (const item of page.items) {
        // In place: the page is ours, and a copy per item is garbage for the next GC to find.
        item.apiVersion = (this.kind.servedVersion ?? this.kind.apiVersion) as never;
        item.kind = this.kind.kind as never;
        const slim = slimObject(item);
        items.push(this.kind.convert === undefined ? slim : this.kind.convert(slim));
      }
      cont = page.metadata.continue || undefined;
    } while (cont !== undefined);
    this.succeeded();
    this.hasListed = true;
    return { metadata: { resourceVersion: resourceVersion ?? '' }, items };
  }

  /** What vanished since the last list is removed, then every listed object that changed is handed over. */
  private relist(list: ObjectList): void {
    const previous = this.known;
    this.known = new Map();
    for (const object of list.items) this.known.set(keyOf(object), object.metadata.resourceVersion);
    for (const key of previous.keys()) {
      if (!this.known.has(key)) this.handlers.remove(this.kind, this.tombstone(key));
    }
    for (const object of list.items) {
      // An object whose version is the one held already is no change (as ListWatch).
      if (!sameVersion(previous.get(keyOf(object)), object)) this.handlers.upsert(this.kind, object);
    }
    this.resourceVersion = list.metadata.resourceVersion ?? '';
  }

  /** An object deleted while no watch was open: its key alone (the store knows the rest). */
  private tombstone(key: string): KubeObject {
    const slash = key.indexOf('/');
    const metadata =
      slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
    return { apiVersion: this.kind.apiVersion, kind: this.kind.kind, metadata } as KubeObject;
  }

  private onWatchEvent(phase: string, object: KubeObject): void {
    switch (phase) {
      case 'ERROR':
        // Too old a resourceVersion: the server ends the watch, and the next one starts with a list.
        if ((object as { code?: number }).code === 410) this.resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED': {
        const key = keyOf(object);
        if (!this.known.has(key) || !sameVersion(this.known.get(key), object)) {
          this.known.set(key, object.metadata.resourceVersion);
          this.onEvent(object, false);
        }
        break;
      }
      case 'DELETED': {
        const key = keyOf(object);
        if (this.known.delete(key)) this.onEvent(object, true);
        break;
      }
      default:
        break; // BOOKMARK: a resourceVersion to resume from, nothing else.
    }
    this.reconnectDelayMs = 0;
    this.resourceVersion = object.metadata?.resourceVersion ?? '';
  }

  private onEvent(object: KubeObject, deleted: boolean): void {
    this.succeeded();
    // Watch events carry kind and apiVersion; the list's items got them above.
    if (deleted) this.handlers.remove(this.kind, object);
    else this.handlers.upsert(this.kind, object);
  }

  private succeeded(): void {
    this.attempts = 0;
    if (this.failing) {
      this.failing = false;
      this.log.info({ resource: this.resource }, `kubernetes: ${this.resource} watched again`);
    }
  }

  private onError(err: unknown): void {
    // close() aborts the watch; nothing to restart then.
    if (this.closed) return;
    this.failedSinceStart = true;
    clearTimeout(this.retry);
    const delay = backoffDelay(this.attempts++, Math.random(), this.backoff);
    const { verb, status, message } = describeFailure(err);
    this.failing = true;
    const fields = { verb, resource: this.resource, status, retryInMs: delay };
    const line = `kubernetes: cannot ${verb} ${this.resource}: ${message}; retrying in ${(delay / 1000).toFixed(1)} s`;
    if (status === 401 || status === 403) this.log.error(fields, line);
    else this.log.warn(fields, line);
    this.retry = setTimeout(() => this.start(), delay);
  }
}

function sameVersion(version: string | undefined, object: KubeObject): boolean {
  return version !== undefined && version !== null && version === object.metadata.resourceVersion;
}

/** What failed, for a log line an operator can act on: the verb, the HTTP status, the API's words. */
export function describeFailure(err: unknown): { verb: 'list' | 'watch'; status: number; message: string } {
  const e = err as { status?: number; statusCode?: number; message?: string; cause?: { code?: string } };
  if (e instanceof Error && e.name === 'ApiError') {
    // Our own list call: its message already names the call.
    const message = (e.message ?? '').replace(/^list \S+: /, '');
    return { verb: 'list', status: e.status ?? 0, message };
  }
  const status = e.statusCode ?? 0;
  const cause = e.cause?.code;
  const message =
    status !== 0
      ? `${status} ${e.message ?? ''}`.trim()
      : cause !== undefined
        ? `${cause} (${e.message ?? 'failed'})`
        : (e.message ?? String(err));
  return { verb: 'watch', status, message };
}
