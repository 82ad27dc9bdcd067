// The primary's side of `--workers N`: forks N data-plane workers (node:cluster: they share the listening
// ports), hands each configuration to every one as data, restarts a worker that dies (it applies the
// current configuration before its ports open), gathers their metrics, and drains them all at shutdown.
import cluster, { type Worker } from 'node:cluster';
import { isSea } from 'node:sea';
import type { MetricsSnapshot } from '@gateway/metrics';
import type { CertificateStore, CertificateTables } from '@gateway/tls';
import type { EndpointTable, GatewayConfig } from '@gateway/translate';
import type { Logger } from 'pino';
import type { LineSink } from './access-log.js';
import type { ConfigTarget } from './serving.js';
import {
  type ConfigPayload,
  encodePayload,
  endpointChanges,
  type FromWorker,
  type ToWorker,
  toPayload,
} from './worker-protocol.js';

/** How long a scrape waits for a worker's metrics before it reports without them. */
const METRICS_TIMEOUT_MS = 2000;
/** Restart back-off: doubled per quick death, back to the first step after a worker lived a minute. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
const STABLE_MS = 60_000;

interface Member {
  readonly worker: Worker;
  /** Its turn among the workers (0…count-1): the order in which they open the ports at start. */
  readonly index: number;
  /** It said hello: it can be sent its `init`. */
  helloed: boolean;
  /** It was sent its `init` and gets every swap from now on. */
  greeted: boolean;
  /** The ports opened: the worker serves (and has the configuration of `applied`). */
  listening: boolean;
  /** The last swap it confirmed. */
  applied: number;
  readonly startedAt: number;
}

export interface WorkerFleetOptions {
  readonly count: number;
  readonly certificates: CertificateStore;
  readonly log: Logger;
  /** Where workers' lines go: the primary's stdout, its only writer. */
  readonly sink: LineSink;
}

export class WorkerFleet implements ConfigTarget {
  private readonly members = new Map<number, Member>();
  private seq = 0;
  private config: ConfigPayload | undefined;
  private endpoints: EndpointTable = new Map();
  private waiters: { seq: number; resolve: () => void }[] = [];
  private stopping = false;
  private restartDelay = RESTART_MIN_MS;
  private metricsId = 0;
  private readonly metricsReplies = new Map<number, (snapshot: MetricsSnapshot) => void>();
  private firstListening: ((ports: { httpPort: number; httpsPort: number }) => void) | undefined;
  private startFailed: ((err: Error) => void) | undefined;
  private failure: string | undefined;
  private ports: { httpPort: number; httpsPort: number } | undefined;

  constructor(private readonly opts: WorkerFleetOptions) {
    // Maps and shared objects cross as they are (structured clone), not through JSON.
    cluster.setupPrimary({
      serialization: 'advanced',
      // A single executable applies its own execArgv (scripts/package.mjs) in every process it starts;
      // passed again they would reach the flag parser as arguments.
      ...(isSea() ? { execArgv: [] } : {}),
    });
  }

  /** Forks every worker; resolves with the shared ports once all of them listen. */
  listen(): Promise<{ httpPort: number; httpsPort: number }> {
    const all = new Promise<{ httpPort: number; httpsPort: number }>((resolve, reject) => {
      this.firstListening = resolve;
      this.startFailed = reject;
    });
    for (let i = 0; i < this.opts.count; i++) this.fork(i);
    return all;
  }

  address(): { httpPort: number; httpsPort: number } | undefined {
    return this.ports;
  }

  /** Workers serving now. */
  get listening(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.listening) n++;
    return n;
  }

  /** Worker process ids, by cluster id (for logs and tests). */
  pids(): number[] {
    return [...this.members.values()].map((m) => m.worker.process.pid!);
  }

  setConfig(config: GatewayConfig, _certificates: CertificateTables): Promise<void> {
    this.config = toPayload(config);
    this.endpoints = config.endpoints;
    return this.broadcast({ t: 'config', seq: ++this.seq, bytes: encodePayload(this.config) });
  }

  setEndpoints(endpoints: EndpointTable): Promise<void> {
    const changes = endpointChanges(this.endpoints, endpoints);
    this.endpoints = endpoints;
    return this.broadcast({ t: 'endpoints', seq: ++this.seq, changes });
  }

  /** Every serving worker's metrics; a worker that does not answer in time is left out of this scrape. */
  async metrics(): Promise<MetricsSnapshot[]> {
    const asks: Promise<MetricsSnapshot | undefined>[] = [];
    for (const m of this.members.values()) {
      if (!m.listening || !m.worker.isConnected()) continue;
      const id = ++this.metricsId;
      asks.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.metricsReplies.delete(id);
            resolve(undefined);
          }, METRICS_TIMEOUT_MS);
          this.metricsReplies.set(id, (snapshot) => {
            clearTimeout(timer);
            this.metricsReplies.delete(id);
            resolve(snapshot);
          });
          this.sendTo(m.worker, { t: 'metrics', id });
        }),
      );
    }
    return (await Promise.all(asks)).filter((s) => s !== undefined);
  }

  /**
   * Graceful: every worker stops accepting, finishes its requests (up to `timeoutMs`) and exits; one
   * that is still there `timeoutMs` + 5 s later is killed.
   */
  async close(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const exits = [...this.members.values()].map(
      (m) =>
        new Promise<void>((resolve) => {
          if (m.worker.isDead()) resolve();
          else m.worker.once('exit', () => resolve());
        }),
    );
    for (const m of this.members.values()) this.sendTo(m.worker, { t: 'shutdown', timeoutMs });
    const kill = setTimeout(() => {
      for (const m of this.members.values()) if (!m.worker.isDead()) m.worker.process.kill('SIGKILL');
    }, timeoutMs + 5000);
    await Promise.all(exits);
    clearTimeout(kill);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  private fork(index: number): void {
    const worker = cluster.fork();
    const member: Member = {
      worker,
      index,
      helloed: false,
      greeted: false,
      listening: false,
      applied: 0,
      startedAt: Date.now(),
    };
    this.members.set(worker.id, member);
    worker.on('message', (message: FromWorker) => this.onMessage(member, message));
    worker.on('exit', (code, signal) => this.onExit(member, code, signal));
    worker.on('error', (err) => this.opts.log.warn({ err, worker: worker.id }, 'worker: IPC error'));
    this.opts.log.info({ worker: worker.id, pid: worker.process.pid }, 'worker started');
  }

  /**
   * Sends `init` to the workers that said hello and may start. At start they open the ports one after
   * the other in index order: node:cluster's round robin then hands connections to them in that order,
   * which is the order their endpoint pickers take turns in (EndpointPicker's `worker`).
   */
  private initReady(): void {
    const starting = this.firstListening !== undefined;
    for (const m of [...this.members.values()].sort((a, b) => a.index - b.index)) {
      if (m.greeted) {
        if (starting && !m.listening) return;
        continue;
      }
      if (!m.helloed) {
        if (starting) return;
        continue;
      }
      this.init(m);
      if (starting) return;
    }
  }

  /** A worker may start: it gets the current configuration, whole, with the endpoints as they are now. */
  private init(member: Member): void {
    const current =
      this.config === undefined
        ? undefined
        : { seq: this.seq, config: { ...this.config, endpoints: this.endpoints } };
    member.greeted = true;
    this.sendTo(member.worker, {
      t: 'init',
      defaultKeyPem: this.opts.certificates.defaultKeyPem,
      defaultCertPem: this.opts.certificates.defaultCertPem,
      worker: { index: member.index, count: this.opts.count },
      ...(current === undefined ? {} : { current }),
    });
  }

  private onMessage(member: Member, message: FromWorker): void {
    switch (message.t) {
      case 'hello':
        member.helloed = true;
        this.initReady();
        return;
      case 'log':
        this.opts.sink.write(message.lines);
        return;
      case 'metrics':
        this.metricsReplies.get(message.id)?.(message.metrics);
        return;
      case 'listening':
        member.listening = true;
        member.applied = Math.max(member.applied, message.seq);
        this.ports ??= { httpPort: message.http, httpsPort: message.https };
        if (this.firstListening !== undefined && this.listening === this.opts.count) {
          this.firstListening(this.ports);
          this.firstListening = undefined;
          this.startFailed = undefined;
        }
        this.initReady();
        this.settle();
        return;
      case 'applied':
        member.applied = Math.max(member.applied, message.seq);
        this.settle();
        return;
      case 'failed':
        this.failure = message.message;
        return;
    }
  }

  private onExit(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    if (this.stopping) return;
    if (this.firstListening !== undefined) {
      // At start (a port in use, say), a worker that dies is a gateway that cannot start: say why and
      // stop the others, as one process would, rather than restart it forever.
      this.stopping = true;
      for (const m of this.members.values()) m.worker.process.kill('SIGKILL');
      const why = this.failure ?? `exited with ${signal ?? code}`;
      this.startFailed?.(new Error(`worker ${member.worker.id} could not start: ${why}`));
      this.firstListening = undefined;
      return;
    }
    const lived = Date.now() - member.startedAt;
    if (lived >= STABLE_MS) this.restartDelay = RESTART_MIN_MS;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, RESTART_MAX_MS);
    this.opts.log.warn(
      { worker: member.worker.id, pid: member.worker.process.pid, code, signal, restartInMs: delay },
      'worker exited; starting another',
    );
    // A swap waiting for this worker waits for it no longer.
    this.settle();
    // The replacement takes the dead worker's turn.
    setTimeout(() => {
      if (!this.stopping) this.fork(member.index);
    }, delay).unref();
  }

  /** Sends a swap to every worker; resolves once every worker has it (those that start later get it first). */
  private broadcast(message: ToWorker & { seq: number }): Promise<void> {
    for (const m of this.members.values()) if (m.greeted) this.sendTo(m.worker, message);
    const seq = message.seq;
    return new Promise((resolve) => {
      this.waiters.push({ seq, resolve });
      this.settle();
    });
  }

  /**
   * Resolves the swaps every live worker has confirmed. A worker still starting counts once it listens:
   * it applied the configuration of its `init` (the current one) before its ports opened.
   */
  private settle(): void {
    if (this.waiters.length === 0) return;
    let min = Number.POSITIVE_INFINITY;
    for (const m of this.members.values()) if (m.listening) min = Math.min(min, m.applied);
    // Before any worker listens (at start) nothing is served yet.
    if (min === Number.POSITIVE_INFINITY) return;
    // Until the first listen, a swap serves only once every worker started.
    if (this.firstListening !== undefined) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.seq <= min) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private sendTo(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch (err) {
      this.opts.log.warn({ err, worker: worker.id }, 'worker: send failed');
    }
  }
}
