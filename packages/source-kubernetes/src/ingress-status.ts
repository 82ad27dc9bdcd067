// The leader writes the published addresses into `status.loadBalancer.ingress` of every Ingress it
// serves, and clears them from an Ingress it stopped serving, but only where they are exactly what we
// would write: an Ingress that another controller reports on is never touched. Serving never waits for
// this: writes run in the background, bursts are coalesced, a few run at a time. The only call is
// update (PUT) on ingresses/status with the object's resourceVersion; a 409 means the informer is
// about to deliver a newer object, so the Ingress is looked at again in the next round.
import { type ApiClient, ApiError } from './api-client.js';
import { backoffDelay } from './backoff.js';
import type { Leadership } from './leader-election.js';
import { type Logger, SILENT } from './log.js';
import { type LoadBalancerIngress, normaliseAddresses, sameAddresses } from './publish-address.js';

/** An Ingress as the watcher's cache holds it: the API's JSON. */
export interface IngressObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { namespace?: string; name?: string; resourceVersion?: string; [k: string]: unknown };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] }; [k: string]: unknown };
  [k: string]: unknown;
}

/** The current Ingresses (the informer's cache). */
export interface IngressView {
  get(namespace: string, name: string): IngressObject | undefined;
  all(): Iterable<IngressObject>;
}

export interface AddressSource {
  /** The addresses to publish (the last known on a failure); undefined while unknown. */
  refresh(): Promise<readonly LoadBalancerIngress[] | undefined>;
}

export interface IngressStatusWriterOptions {
  api: ApiClient;
  ingresses: IngressView;
  leadership: Leadership;
  addresses: AddressSource;
  logger?: Logger;
  /** Quiet time after a change before a round starts. */
  debounceMs?: number;
  /** Addresses are resolved again, and every Ingress looked at, this often. */
  refreshMs?: number;
  /** Writes in flight at once. */
  concurrency?: number;
  /** First wait before a round that follows a failed write (then doubling, up to refreshMs). */
  retryMs?: number;
  random?: () => number;
}

// 100 ms coalesces a reconcile's burst and is short next to how slowly status is read; 30 s catches
// a Service that got its load balancer, or a status someone else overwrote, without a watch on it;
// 10 writes at a time keep a first pass over thousands of Ingresses from crowding the API server.
export const INGRESS_STATUS_DEFAULTS = {
  debounceMs: 100,
  refreshMs: 30_000,
  concurrency: 10,
  retryMs: 1_000,
};

type Outcome = 'written' | 'skipped' | 'retry';

export class IngressStatusWriter {
  private readonly o: Required<Omit<IngressStatusWriterOptions, 'logger'>> & { logger: Logger };
  private served: ReadonlySet<string> = new Set();
  private addresses: readonly LoadBalancerIngress[] | undefined;
  /** Our write's base resourceVersion, by key: the cache still showing it means our write is on its way. */
  private readonly written = new Map<string, string>();
  private readonly unsubscribe: (() => void)[] = [];
  private roundTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private closed = false;
  private lastProblem = '';

  constructor(options: IngressStatusWriterOptions) {
    this.o = {
      ...INGRESS_STATUS_DEFAULTS,
      random: Math.random,
      ...options,
      logger: options.logger ?? SILENT,
    };
  }

  start(): void {
    const l = this.o.leadership;
    this.unsubscribe.push(
      l.onStartedLeading(() => void this.refresh()),
      l.onStoppedLeading(() => this.idle()),
    );
    if (l.isLeader()) void this.refresh();
  }

  /** The Ingresses the current configuration serves, as `namespace/name`. */
  setServed(keys: ReadonlySet<string>): void {
    this.served = new Set(keys);
    this.schedule(this.o.debounceMs);
  }

  /** Something in the view changed (an informer event): look again after the debounce. */
  resync(): void {
    this.schedule(this.o.debounceMs);
  }

  /** Resolves when no round is running or waiting (retries and the periodic refresh aside). */
  async settled(): Promise<void> {
    while (this.round !== undefined || this.roundTimer !== undefined) {
      if (this.round !== undefined) await this.round;
      else await new Promise((r) => setTimeout(r, this.o.debounceMs));
    }
  }

  /** No write starts after this; resolves once the writes in flight have ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.idle();
    await this.round;
  }

  private idle(): void {
    clearTimeout(this.roundTimer);
    clearTimeout(this.refreshTimer);
    this.roundTimer = undefined;
    this.refreshTimer = undefined;
  }

  private active(): boolean {
    return !this.closed && this.o.leadership.isLeader();
  }

  /** Resolves the addresses, then looks at every Ingress; again every refreshMs while leading. */
  private async refresh(): Promise<void> {
    if (!this.active()) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), this.o.refreshMs);
    this.refreshTimer.unref();
    const addresses = await this.o.addresses.refresh();
    if (addresses !== undefined) this.addresses = normaliseAddresses(addresses);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.active()) return;
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.roundTimer);
    this.roundTimer = setTimeout(() => {
      this.roundTimer = undefined;
      this.round = this.runRound().finally(() => {
        this.round = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(this.o.debounceMs);
        }
      });
    }, delayMs);
    this.roundTimer.unref();
  }

  private async runRound(): Promise<void> {
    if (!this.active() || this.addresses === undefined) return;
    const queue: string[] = [];
    for (const ing of this.o.ingresses.all()) {
      const key = keyOf(ing);
      if (this.desired(key, ing) !== undefined) queue.push(key);
    }
    let retry = false;
    const worker = async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        if (!this.active()) return;
        if ((await this.write(key)) === 'retry') retry = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, queue.length) }, worker));
    if (!retry) {
      this.failures = 0;
      return;
    }
    const delay = backoffDelay(this.failures++, this.o.random(), {
      baseMs: this.o.retryMs,
      maxMs: this.o.refreshMs,
    });
    // After the round has ended, so the retry is a new round rather than folded into `again`.
    setTimeout(() => this.schedule(0), delay).unref();
  }

  /** The addresses an Ingress should carry, or undefined when it is fine as it is (or not ours). */
  private desired(key: string, ing: IngressObject): readonly LoadBalancerIngress[] | undefined {
    const ours = this.addresses;
    if (ours === undefined) return undefined;
    const rv = ing.metadata?.resourceVersion;
    if (this.written.get(key) === rv) return undefined;
    this.written.delete(key);
    const current = ing.status?.loadBalancer?.ingress;
    if (this.served.has(key)) return sameAddresses(current, ours) ? undefined : ours;
    // Not served: clear only what is exactly what we would write.
    if ((current?.length ?? 0) > 0 && sameAddresses(current, ours)) return [];
    return undefined;
  }

  private async write(key: string): Promise<Outcome> {
    const [namespace = '', name = ''] = key.split('/');
    // The freshest copy: the cache may have moved on since the round started.
    const ing = this.o.ingresses.get(namespace, name);
    if (ing === undefined) return 'skipped';
    const addresses = this.desired(key, ing);
    if (addresses === undefined) return 'skipped';
    const body: IngressObject = {
      ...ing,
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      status: { ...ing.status, loadBalancer: addresses.length > 0 ? { ingress: [...addresses] } : {} },
    };
    const ns = encodeURIComponent(namespace);
    const path = `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/${encodeURIComponent(name)}/status`;
    try {
      await this.o.api.request('PUT', path, `update ingresses/status networking.k8s.io ${key}`, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return 'skipped';
      if (err instanceof ApiError && err.status === 409) return 'retry';
      this.problem(err);
      return 'retry';
    }
    this.written.set(key, ing.metadata?.resourceVersion ?? '');
    this.lastProblem = '';
    this.o.logger.info(
      { namespace, ingress: name, addresses },
      addresses.length > 0 ? 'ingress status updated' : 'ingress status cleared',
    );
    return 'written';
  }

  private problem(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    const status = err instanceof ApiError ? err.status : undefined;
    const fields = { verb: 'update', resource: 'ingresses/status', status };
    if (status === 401 || status === 403) this.o.logger.error(fields, `ingress status: ${message}`);
    else this.o.logger.warn(fields, `ingress status: ${message}`);
  }
}

function keyOf(ing: IngressObject): string {
  return `${ing.metadata?.namespace ?? ''}/${ing.metadata?.name ?? ''}`;
}
