import type { ServerResponse } from 'node:http';
import type { KubeObject, ResourceType } from './resources.js';
import type { Matcher } from './selectors.js';
import type { Store, StoreEvent } from './store.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchSpec {
  type: ResourceType;
  /** The group/version the client asked for; objects are served as that version. */
  apiVersion: string;
  namespace: string | undefined;
  matches: Matcher;
  /** Undefined (or RV "0") = begin with a synthetic ADDED per current object, as the real server does. */
  fromRv: number | undefined;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutSeconds: number | undefined;
}

export function present(obj: KubeObject, type: ResourceType, apiVersion: string): KubeObject {
  return { ...obj, apiVersion, kind: type.kind };
}

/** Opens the chunked response at once: ListWatch.start() resolves only when the headers arrive. */
export function openStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
}

export function writeEvent(res: ServerResponse, type: WatchEventType, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

/**
 * One open watch. Translates store writes into what this watcher may see: a write that makes an object
 * stop matching the selectors is a DELETED, one that makes it start matching an ADDED.
 */
export class WatchStream {
  private unsubscribe: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    readonly res: ServerResponse,
    private readonly store: Store,
    readonly spec: WatchSpec,
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  start(): void {
    openStream(this.res);
    this.res.on('close', () => this.cleanup());
    const { spec, store } = this;
    if (spec.fromRv === undefined || spec.fromRv === 0) {
      for (const obj of store.list(spec.type, spec.namespace)) {
        if (spec.matches(obj)) this.send('ADDED', obj);
      }
    } else {
      for (const e of store.eventsSince(spec.type, spec.fromRv) ?? []) this.deliver(e);
    }
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === spec.type) this.deliver(e);
    });
    if (spec.bookmarks && spec.bookmarkIntervalMs > 0) {
      const t = setInterval(() => this.bookmark(), spec.bookmarkIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    if (spec.timeoutSeconds !== undefined && spec.timeoutSeconds > 0) {
      const t = setTimeout(() => this.end(), spec.timeoutSeconds * 1000);
      t.unref();
      this.timers.push(t);
    }
  }

  /** A no-op unless the client asked for bookmarks (allowWatchBookmarks=true). */
  bookmark(): void {
    if (!this.spec.bookmarks || this.closed) return;
    writeEvent(this.res, 'BOOKMARK', {
      kind: this.spec.type.kind,
      apiVersion: this.spec.apiVersion,
      metadata: { resourceVersion: String(this.store.resourceVersion) },
    });
  }

  /** Ends the stream cleanly (final chunk): what a watch timeout or a graceful server shutdown does. */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.cleanup();
  }

  /** Cuts the connection without a final chunk, like a network failure or a killed server. */
  destroy(): void {
    if (this.closed) return;
    this.res.socket?.destroy();
    this.res.destroy();
    this.cleanup();
  }

  sendError(status: object): void {
    if (this.closed) return;
    writeEvent(this.res, 'ERROR', status);
  }

  private deliver(e: StoreEvent): void {
    const { matches, namespace } = this.spec;
    const inScope = (o: KubeObject | undefined) =>
      o !== undefined && (namespace === undefined || o.metadata?.namespace === namespace) && matches(o);
    const was = e.type !== 'ADDED' && inScope(e.previous);
    const is = e.type !== 'DELETED' && inScope(e.object);
    if (e.type === 'DELETED') {
      if (was) this.send('DELETED', e.object);
    } else if (is) {
      this.send(was ? 'MODIFIED' : 'ADDED', e.object);
    } else if (was) {
      // The real server sends the last state that matched, at the resourceVersion of the write.
      const prev = e.previous!;
      this.send('DELETED', { ...prev, metadata: { ...prev.metadata, resourceVersion: String(e.rv) } });
    }
  }

  private send(type: WatchEventType, obj: KubeObject): void {
    if (this.closed) return;
    writeEvent(this.res, type, present(obj, this.spec.type, this.spec.apiVersion));
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.onClose(this);
  }
}
