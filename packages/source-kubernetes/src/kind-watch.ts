// One informer per kind, kept alive: client-node's ListWatch stops for good on most failures (a refused
// connection, a cut stream, a failed list, a 403), so it is restarted here with a capped, jittered
// back-off. A restart resumes from the last resourceVersion; a 410 makes the informer re-list and
// report what vanished, so the cache converges to the API server's state.
import type { KubeObject } from '@gateway/manifests';
import { type KubeConfig, type KubernetesObject, ListWatch } from '@kubernetes/client-node';
import type { ApiClient } from './api-client.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import type { Logger } from './log.js';
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

export class KindWatch {
  readonly resource: string;
  /** Resolves once the kind has been listed (its objects handed over) and its watch is open. */
  readonly listed: Promise<void>;
  private markListed!: () => void;
  private hasListed = false;
  /** Typed loosely: the objects are plain JSON as the API serves them, never client-node's models. */
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly path: string;
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
    kubeConfig: KubeConfig,
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
    this.informer = new ListWatch<KubernetesObject>(
      this.path,
      new SlimWatch(kubeConfig, kind.convert),
      () => this.list() as never,
      false,
      undefined,
      kind.fieldSelector,
    );
    this.informer.on('add', (o) => this.onEvent(o as KubeObject, false));
    this.informer.on('update', (o) => this.onEvent(o as KubeObject, false));
    this.informer.on('delete', (o) => this.onEvent(o as KubeObject, true));
    this.informer.on('error', (err) => this.onError(err));
  }

  start(): void {
    if (this.closed) return;
    this.failedSinceStart = false;
    this.informer.start().then(
      () => {
        // start() resolves once the watch answered, or right after a failure was reported: only a
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
    await this.informer.stop();
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
    // stop() makes the informer report an AbortError; nothing to restart then.
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
