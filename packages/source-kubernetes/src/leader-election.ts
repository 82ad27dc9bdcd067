// One replica at a time writes Ingress status: the holder of a coordination.k8s.io/v1 Lease. The rules
// are client-go's leaderelection:
// - expiry is judged by the candidate's own clock, from the moment it saw the record change, never from
//   the holder's renewTime, so clocks that disagree between nodes cannot cause two leaders;
// - every write carries the resourceVersion that was read, so of two candidates one gets 409 and loses;
// - a leader that has not renewed within renewDeadline (< leaseDuration) stops leading before any other
//   replica may consider the lease expired.
// Only get, create and update (PUT) on leases are used: the deploy manifests grant exactly those.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type ApiClient, ApiError } from './api-client.js';
import { type Logger, SILENT } from './log.js';
import { microTime } from './micro-time.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
  [k: string]: unknown;
}

/** What the status writer needs of an elector (a fake in its unit tests). */
export interface Leadership {
  isLeader(): boolean;
  /** Returns a function that unsubscribes. */
  onStartedLeading(listener: () => void): () => void;
  onStoppedLeading(listener: () => void): () => void;
}

export interface LeaderElectorOptions {
  namespace: string;
  /** The Lease's name (`--election-id`). */
  electionId?: string;
  /** Default `POD_NAME_random`: a restarted pod is a new holder and waits out its predecessor's lease. */
  identity?: string;
  /** Default the host name (a pod's host name is its name). */
  podName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Milliseconds since the epoch; only for the times written and the expiry judgement. */
  now?: () => number;
  /** In [0, 1): jitter of the retry period. */
  random?: () => number;
  logger?: Logger;
}

// client-go's defaults (and ingress-nginx's): a dead leader is replaced within about 15 s, a leader
// cut off from the API server stops writing after 10 s, and the lease is written every 2 s.
export const LEADER_ELECTION_DEFAULTS = {
  electionId: 'ingress-gateway-leader',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** Each wait is the retry period plus up to this fraction of it, so replicas drift out of step. */
const JITTER = 0.2;

const RESOURCE = 'leases.coordination.k8s.io';

export class LeaderElector implements Leadership {
  readonly identity: string;
  readonly electionId: string;
  readonly namespace: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly path: string;
  private readonly started = new Set<() => void>();
  private readonly stopped = new Set<() => void>();
  /** The Lease as last read or written: its resourceVersion goes into the next write. */
  private lease: Lease | undefined;
  private observedRecord = '';
  /** Own clock when the record last changed: the start of the current holder's lease as we see it. */
  private observedAt = 0;
  private observedHolder = '';
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastProblem = '';

  constructor(
    private readonly api: ApiClient,
    options: LeaderElectorOptions,
  ) {
    this.namespace = options.namespace;
    this.electionId = options.electionId ?? LEADER_ELECTION_DEFAULTS.electionId;
    this.leaseDurationMs = options.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = options.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = options.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    // The same checks as client-go: otherwise a leader could still be writing after another took over.
    if (this.leaseDurationMs <= this.renewDeadlineMs)
      throw new Error('leader election: the lease duration must be greater than the renew deadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs * (1 + JITTER))
      throw new Error(`leader election: the renew deadline must exceed ${1 + JITTER} × the retry period`);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.logger ?? SILENT;
    this.identity = options.identity ?? `${options.podName ?? hostname()}_${randomBytes(5).toString('hex')}`;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
  }

  isLeader(): boolean {
    return this.leading;
  }

  onStartedLeading(listener: () => void): () => void {
    this.started.add(listener);
    return () => this.started.delete(listener);
  }

  onStoppedLeading(listener: () => void): () => void {
    this.stopped.add(listener);
    return () => this.stopped.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying and leading without writing the Lease: what a killed process does, seen from others. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.stepDown('stopped');
  }

  /**
   * Graceful shutdown: stops leading first (status writes end), then hands the Lease back so that
   * another replica takes over at its next retry instead of after the lease duration. As client-go's
   * ReleaseOnCancel: holderIdentity '' (a candidate takes an unheld lease whatever its times) and
   * leaseDurationSeconds 1 (a reader that only looks at expiry sees it expire at once).
   */
  async release(): Promise<void> {
    this.stop();
    await this.inflight;
    const lease = this.lease;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = microTime(this.now());
    try {
      this.lease = await this.write('PUT', {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
        },
      });
      this.log.info({ lease: this.electionId, identity: this.identity }, 'leader election: lease released');
    } catch (err) {
      this.problem(err, 'update');
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.inflight = this.tick().finally(() => {
        this.inflight = undefined;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const startedAt = this.now();
    const held = await this.tryAcquireOrRenew(startedAt);
    if (!this.running) return;
    // The deadline counts from before the write was sent: the API server stored it later, and any
    // other replica saw it later still, so we stop leading before any of them may take over.
    const stepDownAt = startedAt + this.renewDeadlineMs;
    if (held && this.now() < stepDownAt) {
      clearTimeout(this.deadline);
      this.deadline = setTimeout(
        () => this.stepDown(`could not renew the lease within ${this.renewDeadlineMs} ms`),
        stepDownAt - this.now(),
      );
      this.deadline.unref();
      if (!this.leading) {
        this.leading = true;
        this.log.info({ lease: this.electionId, identity: this.identity }, 'leader election: became leader');
        this.emit(this.started);
      }
    }
    this.schedule(this.nextDelay());
  }

  private nextDelay(): number {
    const jittered = this.retryPeriodMs * (1 + JITTER * this.random());
    if (this.leading || this.observedHolder === '' || this.observedHolder === this.identity) return jittered;
    // Waiting for another's lease: try again as soon as it would expire, not up to a period later.
    const untilExpiry = this.observedAt + this.leaseMs(this.lease?.spec) - this.now();
    // Already expired (our takeover failed): the ordinary period, never a busy loop.
    return untilExpiry > 0 ? Math.min(jittered, untilExpiry + 1) : jittered;
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    // A leader renews over the object it wrote last, without reading it first (client-go's fast path).
    if (this.leading && this.lease?.spec?.holderIdentity === this.identity) {
      try {
        this.observe(await this.write('PUT', this.record(this.lease, now)));
        return true;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) {
          this.problem(err, 'update');
          return false;
        }
        // Someone wrote the Lease: read it and decide as any candidate would.
      }
    }
    let current: Lease;
    try {
      current = await this.api.request<Lease>('GET', this.itemPath(), this.what('get'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return this.create(now);
      this.problem(err, 'get');
      return false;
    }
    this.observe(current);
    const holder = current.spec?.holderIdentity ?? '';
    if (
      holder !== '' &&
      holder !== this.identity &&
      this.now() < this.observedAt + this.leaseMs(current.spec)
    ) {
      this.stepDown(`the lease is held by ${holder}`);
      return false;
    }
    try {
      this.observe(await this.write('PUT', this.record(current, now)));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.log.info({ lease: this.electionId }, 'leader election: another replica wrote the lease first');
        return false;
      }
      this.problem(err, 'update');
      return false;
    }
  }

  private async create(now: number): Promise<boolean> {
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.electionId, namespace: this.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
    try {
      this.observe(await this.write('POST', body));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.log.info({ lease: this.electionId }, 'leader election: another replica created the lease first');
        return false;
      }
      this.problem(err, 'create');
      return false;
    }
  }

  /** The record we write over `lease`: renewed if we hold it, taken over (one more transition) if not. */
  private record(lease: Lease, now: number): Lease {
    const spec = lease.spec ?? {};
    const ours = spec.holderIdentity === this.identity;
    return {
      ...lease,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: ours && spec.acquireTime !== undefined ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  private async write(method: 'POST' | 'PUT', body: Lease): Promise<Lease> {
    const lease =
      method === 'POST'
        ? await this.api.request<Lease>('POST', this.path, this.what('create'), body)
        : await this.api.request<Lease>('PUT', this.itemPath(), this.what('update'), body);
    this.lease = lease;
    this.lastProblem = '';
    return lease;
  }

  private observe(lease: Lease): void {
    this.lease = lease;
    const s = lease.spec ?? {};
    const record = JSON.stringify([
      s.holderIdentity ?? '',
      s.leaseDurationSeconds,
      s.acquireTime,
      s.renewTime,
      s.leaseTransitions,
    ]);
    if (record === this.observedRecord) return;
    this.observedRecord = record;
    this.observedAt = this.now();
    const holder = s.holderIdentity ?? '';
    if (holder !== this.observedHolder && holder !== this.identity && holder !== '')
      this.log.info({ lease: this.electionId, holder }, 'leader election: lease held by another replica');
    this.observedHolder = holder;
  }

  /**
   * How long the holder's lease lasts. The record has whole seconds only; when they are our own duration
   * rounded up, the holder was configured as we are and our exact duration is used (sub-second leases
   * in tests); otherwise the record's, as client-go does, so a longer lease elsewhere is respected.
   */
  private leaseMs(spec: LeaseSpec | undefined): number {
    const seconds = spec?.leaseDurationSeconds;
    if (seconds === undefined || seconds <= 0 || seconds === Math.ceil(this.leaseDurationMs / 1000))
      return this.leaseDurationMs;
    return seconds * 1000;
  }

  private stepDown(reason: string): void {
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    this.log.warn(
      { lease: this.electionId, identity: this.identity, reason },
      'leader election: stopped leading',
    );
    this.emit(this.stopped);
  }

  private emit(listeners: ReadonlySet<() => void>): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ err }, 'leader election: a listener threw');
      }
    }
  }

  /** Logs a failed call once until a call succeeds: a denied verb would otherwise log every period. */
  private problem(err: unknown, verb: string): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    const status = err instanceof ApiError ? err.status : undefined;
    const fields = { lease: this.electionId, namespace: this.namespace, verb, resource: RESOURCE, status };
    if (status === 401 || status === 403) this.log.error(fields, `leader election: ${message}`);
    else this.log.warn(fields, `leader election: ${message}`);
  }

  private itemPath(): string {
    return `${this.path}/${encodeURIComponent(this.electionId)}`;
  }

  private what(verb: string): string {
    return `${verb} ${RESOURCE} ${this.namespace}/${this.electionId}`;
  }
}
