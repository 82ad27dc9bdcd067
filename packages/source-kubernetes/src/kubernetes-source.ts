// The Kubernetes API server as a `ConfigSource`: informers for every watched kind feed one object
// store; changes are coalesced over a short hold-off into either a full snapshot or, when only the
// EndpointSlices of referenced Services changed, an endpoints-only change. Objects nothing refers to
// (a Service no Ingress names, a Secret no Ingress names) cause no rebuild.
import type { ConfigSource, Kind, KubeObject, SnapshotResult, SourceChange } from '@gateway/manifests';
import { ApiClient } from './api-client.js';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import type { IngressView } from './ingress-status.js';
import { KindWatch } from './kind-watch.js';
import type { ClusterAccess } from './kube-config.js';
import type { Logger } from './log.js';
import { keyOf, ObjectStore, onlyStatusChanged, serviceOfSlice } from './object-store.js';
import { type EndpointSliceVersion, type WatchedKind, watchedKinds } from './resources.js';

export interface KubernetesSourceOptions {
  /** `loadKubeConfig()`'s, or client-node's `KubeConfig`. */
  readonly kubeConfig: ClusterAccess;
  /** `--watch-namespace`: namespaced kinds are watched there only (IngressClass is cluster-wide). */
  readonly namespace?: string | undefined;
  readonly log: Logger;
  /** Quiet time after the last change before it is handed over. Default 50 ms. */
  readonly holdOffMs?: number;
  /** Longest a change waits while others keep coming. Default 500 ms. */
  readonly maxHoldOffMs?: number;
  readonly backoff?: BackoffOptions;
  /** The kinds to watch; default every kind the gateway reads from a cluster. */
  readonly kinds?: readonly WatchedKind[];
  /** The gateway's own namespace (its Lease, `--publish-service`); default `default`. */
  readonly gatewayNamespace?: string;
}

export class KubernetesSource implements ConfigSource {
  readonly errorPolicy = 'skip-object';
  readonly description: string;
  readonly client: ApiClient;
  readonly gatewayNamespace: string;
  private readonly store = new ObjectStore();
  private readonly ingressListeners: Array<() => void> = [];
  private watches: KindWatch[] = [];
  private readonly makeWatches: (kinds: readonly WatchedKind[]) => KindWatch[];
  private readonly kinds: readonly WatchedKind[] | undefined;
  private readonly log: Logger;
  private readonly backoff: BackoffOptions;
  private readonly holdOffMs: number;
  private readonly maxHoldOffMs: number;
  private onChange: ((change: SourceChange) => void) | undefined;
  private synced = false;
  private closed = false;
  private pendingFull = false;
  private readonly pendingServices = new Set<string>();
  private firstPendingAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: KubernetesSourceOptions) {
    this.client = new ApiClient(opts.kubeConfig);
    this.description = this.client.server;
    this.gatewayNamespace = opts.gatewayNamespace ?? 'default';
    this.holdOffMs = opts.holdOffMs ?? 50;
    this.maxHoldOffMs = opts.maxHoldOffMs ?? 500;
    const handlers = {
      upsert: (kind: WatchedKind, object: KubeObject) => {
        const previous = this.store.upsert(kind.kind, object);
        if (kind.kind === 'Ingress') this.ingressChanged();
        // A status write (our own, among others) comes back as an update: nothing to rebuild.
        if (kind.kind === 'Ingress' && previous !== undefined && onlyStatusChanged(previous.object, object)) {
          if (this.store.get('Ingress', keyOf(object)) !== undefined) return;
        }
        this.changed(kind.kind, object);
      },
      remove: (kind: WatchedKind, deleted: KubeObject) => {
        // A delete found by a re-list names the object only: the stored one has its labels and uid.
        const object = this.store.get(kind.kind, keyOf(deleted))?.object ?? deleted;
        this.store.remove(kind.kind, object);
        if (kind.kind === 'Ingress') this.ingressChanged();
        this.changed(kind.kind, object);
      },
    };
    this.makeWatches = (kinds) =>
      kinds.map(
        (kind) =>
          new KindWatch(kind, this.client, opts.kubeConfig, opts.namespace, handlers, opts.log, opts.backoff),
      );
    this.kinds = opts.kinds;
    this.log = opts.log;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /** Resolves once every kind has been listed: the gateway is ready then, not before. */
  async start(onChange: (change: SourceChange) => void): Promise<SnapshotResult> {
    this.onChange = onChange;
    const kinds = this.kinds ?? watchedKinds(await this.endpointSliceVersion());
    if (this.closed) return this.store.snapshot();
    this.watches = this.makeWatches(kinds);
    for (const w of this.watches) w.start();
    await Promise.all(this.watches.map((w) => w.listed));
    this.store.refreshReferences();
    this.synced = true;
    return this.store.snapshot();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all(this.watches.map((w) => w.close()));
  }

  /**
   * `discovery.k8s.io/v1` where the cluster serves it (1.21 and later), else `v1beta1` (1.20). Asked
   * until the API server answers: a guess would watch a version that is not there.
   */
  private async endpointSliceVersion(): Promise<EndpointSliceVersion> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const group = await this.client.request<{ versions?: Array<{ version: string }> }>(
          'GET',
          '/apis/discovery.k8s.io',
          'discover discovery.k8s.io',
        );
        const versions = new Set((group.versions ?? []).map((v) => v.version));
        if (versions.has('v1')) return 'v1';
        if (versions.has('v1beta1')) {
          this.log.info(
            { version: 'v1beta1' },
            'kubernetes: EndpointSlices are served as discovery.k8s.io/v1beta1',
          );
          return 'v1beta1';
        }
        this.log.error(
          {},
          'kubernetes: the API server serves no EndpointSlice version this gateway reads (v1, v1beta1)',
        );
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          `kubernetes: cannot ask which EndpointSlice version is served: ${(err as Error).message}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, Math.random(), this.backoff)));
    }
    return 'v1';
  }

  /** The Ingresses as the informers hold them now, for the status writer. */
  ingressView(): IngressView {
    return this.store.ingressView();
  }

  /** `listener` is called on every Ingress event, status-only ones included. */
  onIngressEvent(listener: () => void): void {
    this.ingressListeners.push(listener);
  }

  private ingressChanged(): void {
    if (this.synced) for (const l of this.ingressListeners) l();
  }

  private changed(kind: Kind, object: KubeObject): void {
    // Until every kind has listed, start() hands over everything at once.
    if (!this.synced || this.closed) return;
    switch (kind) {
      case 'Ingress':
      case 'IngressClass':
        this.pendingFull = true;
        break;
      case 'Service':
        if (!this.store.referencesService(keyOf(object))) return;
        this.pendingFull = true;
        break;
      case 'Secret':
        if (!this.store.referencesSecret(keyOf(object))) return;
        this.pendingFull = true;
        break;
      case 'EndpointSlice': {
        const service = serviceOfSlice(object);
        if (service === undefined || !this.store.referencesService(service)) return;
        this.pendingServices.add(service);
        break;
      }
      default:
        return;
    }
    this.schedule();
  }

  private schedule(): void {
    const now = Date.now();
    if (this.timer === undefined) this.firstPendingAt = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.holdOffMs, this.firstPendingAt + this.maxHoldOffMs - now));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    const full = this.pendingFull;
    const services = new Set(this.pendingServices);
    this.pendingFull = false;
    this.pendingServices.clear();
    if (full) {
      this.store.refreshReferences();
      this.onChange?.({ kind: 'snapshot', result: this.store.snapshot() });
    } else if (services.size > 0) {
      this.onChange?.({ kind: 'endpoints', objects: this.store.slicesOf(services), services });
    }
  }
}
