// The primary's side of `--workers N`: forks N data-plane workers (node:cluster; they share the listening
// ports through the primary's round robin, or with --reuse-port each with its own SO_REUSEPORT
// sockets), hands each configuration to every one as data, restarts a worker that dies (it applies the
// current configuration before its ports open), gathers their metrics, and drains them all at shutdown.
import cluster, { type Worker } from 'node:cluster';
import { isSea } from 'node:sea';
import type { Readable } from 'node:stream';
import { stopPretenuring } from '@gateway/dataplane';
import type { MetricsSnapshot } from '@gateway/metrics';
import type { CertificateStore, CertificateTables } from '@gateway/tls';
import type { EndpointTable, GatewayConfig } from '@gateway/translate';
import type { Logger } from 'pino';
import type { LineSink } from './access-log.js';
import { configDelta } from './config-delta.js';
import { type HandedOver, HandoverDir, type PayloadBytes } from './handover.js';
import { LineRelay } from './line-relay.js';
import type { ConfigTarget } from './serving.js';
import {
  type ConfigPayload,
  encodeDelta,
  encodePayload,
  endpointChanges,
  type FromWorker,
  type SiblingPorts,
  type ToWorker,
  toPayload,
  WORKER_LOG_FD,
} from './worker-protocol.js';

/** How long a scrape waits for a worker's metrics before it reports without them. */
const METRICS_TIMEOUT_MS = 2000;
/** Restart back-off: doubled per quick death, back to the first step after a worker lived a minute. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
const STABLE_MS = 60_000;

/**
 * V8 flags every worker runs with, whether or not the primary was given them (the image's ENTRYPOINT and
 * the single executable's execArgv, scripts/package.mjs, give them to every process).
 * `--no-parallel-scavenge`: a serving process has one core, so the helper threads a parallel scavenge
 * wakes have none of their own; at every scavenge (~25 a second under small-GET load) four of them woke
 * and preempted the serving thread (one process pinned to one core: ~590 involuntary switches of its
 * main thread a second, ~165 with the flag; p99 1.5-1.85x nginx's instead of 2.0-2.3x, medians of
 * interleaved rounds, benchmarks/README.md). Marking and sweeping keep their threads: with
 * `--single-threaded-gc` instead, one process with 10,000 Ingresses peaked at ~340 MB RSS, not ~265.
 * Only the command line takes it (NODE_OPTIONS and v8.setFlagsFromString do not).
 */
export const WORKER_V8_FLAGS: readonly string[] = ['--no-parallel-scavenge'];

/** The execArgv a worker is forked with: the primary's, plus WORKER_V8_FLAGS not already there. */
export function workerExecArgv(primary: readonly string[]): string[] {
  return [...primary, ...WORKER_V8_FLAGS.filter((flag) => !primary.includes(flag))];
}

interface Member {
  readonly worker: Worker;
  /** Its turn among the workers (0…count-1): the order in which they open the ports at start. */
  readonly index: number;
  /** It said hello: it can be sent its `init`. */
  helloed: boolean;
  /** It was sent its `init` and gets every swap from now on. */
  greeted: boolean;
  /** It was told to open the ports (with its `init`, or after it at start, in its turn). */
  toldToListen: boolean;
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
  /** Where the directory of configuration files may be made, in order (default: handover.ts's). */
  readonly handoverBases?: readonly string[];
}

export class WorkerFleet implements ConfigTarget {
  private readonly members = new Map<number, Member>();
  private seq = 0;
  private config: ConfigPayload | undefined;
  /** The swap that set `config` (later ones, up to `seq`, changed endpoints only). */
  private configSeq = 0;
  private endpoints: EndpointTable = new Map();
  /** Configuration files not yet read by every worker that is to read them, oldest first. */
  private files: { seq: number; handover: HandedOver }[] = [];
  private readonly handover: HandoverDir;
  private waiters: {
    seq: number;
    resolve: () => void;
    reject: (err: Error) => void;
    /** A worker could not apply this swap (it serves the last one). */
    failed?: string;
  }[] = [];
  private stopping = false;
  /** `listen` was called: workers may be greeted (before, preforked ones wait). */
  private mayStart = false;
  private restartDelay = RESTART_MIN_MS;
  private metricsId = 0;
  private readonly metricsReplies = new Map<number, (snapshot: MetricsSnapshot) => void>();
  private firstListening: ((ports: { httpPort: number; httpsPort: number }) => void) | undefined;
  private startFailed: ((err: Error) => void) | undefined;
  private failure: string | undefined;
  private ports: { httpPort: number; httpsPort: number } | undefined;

  constructor(private readonly opts: WorkerFleetOptions) {
    this.handover = new HandoverDir(opts.log, opts.handoverBases);
    // Maps and shared objects cross as they are (structured clone), not through JSON.
    cluster.setupPrimary({
      serialization: 'advanced',
      // A single executable applies its own execArgv (scripts/package.mjs) in every process it starts;
      // passed again they would reach the flag parser as arguments. Its workers so run without
      // WORKER_V8_FLAGS: the primary's flags and the workers' are one list there.
      execArgv: isSea() ? [] : workerExecArgv(process.execArgv),
      // stdin, stdout and stderr as the primary's; IPC; the worker's log pipe (WORKER_LOG_FD).
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'],
    });
  }

  /**
   * Forks every worker now, while the first configuration is still being read and compiled: they load
   * their modules meanwhile and wait, greeted by nothing, until `listen`.
   */
  prefork(): void {
    if (this.members.size === 0) for (let i = 0; i < this.opts.count; i++) this.fork(i);
  }

  /**
   * Forks every worker (unless `prefork` did); resolves with the shared ports once all of them listen.
   * They are all sent the current configuration at once (each compiles it, in parallel), then open the
   * ports one after the other.
   */
  listen(): Promise<{ httpPort: number; httpsPort: number }> {
    // The primary accepts every connection before handing it over: the same churn as a data plane's.
    stopPretenuring();
    const all = new Promise<{ httpPort: number; httpsPort: number }>((resolve, reject) => {
      this.firstListening = resolve;
      this.startFailed = reject;
    });
    this.mayStart = true;
    this.prefork();
    this.initReady();
    return all;
  }

  /** The gateway does not start (its first configuration is invalid): the preforked workers go. */
  abort(): void {
    this.stopping = true;
    for (const m of this.members.values()) if (!m.worker.isDead()) m.worker.process.kill('SIGKILL');
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

  /** The directory of configuration files, once there is one (for logs and tests). */
  get handoverDirectory(): string | undefined {
    return this.handover.directory;
  }

  setConfig(config: GatewayConfig, _certificates: CertificateTables): Promise<void> {
    const base = this.config;
    const baseSeq = this.configSeq;
    const held = this.endpoints;
    this.config = toPayload(config);
    this.endpoints = config.endpoints;
    const seq = ++this.seq;
    this.configSeq = seq;
    // Made only when a worker is there to take it: at start, each gets it whole with its `init`. Mostly
    // the last configuration: what changed, over the channel; else the whole, in a file.
    const done = this.broadcast(seq, () => {
      const delta = base === undefined ? undefined : configDelta(base, baseSeq, held, this.config!);
      if (delta !== undefined) return { t: 'config-delta', seq, delta: encodeDelta(delta) };
      return { t: 'config', seq, payload: this.currentBytes() };
    });
    // The previous configuration's file, once every worker has read it.
    this.sweep();
    return done;
  }

  setEndpoints(endpoints: EndpointTable): Promise<void> {
    const changes = endpointChanges(this.endpoints, endpoints);
    this.endpoints = endpoints;
    const seq = ++this.seq;
    return this.broadcast(seq, () => ({ t: 'endpoints', seq, changes }));
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
    this.files = [];
    this.handover.close();
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
      toldToListen: false,
      listening: false,
      applied: 0,
      startedAt: Date.now(),
    };
    this.members.set(worker.id, member);
    worker.on('message', (message: FromWorker) => this.onMessage(member, message));
    const relay = new LineRelay(this.opts.sink);
    const lines = worker.process.stdio[WORKER_LOG_FD] as Readable;
    lines.on('data', (chunk: Buffer) => relay.push(chunk));
    lines.on('end', () => {
      const dropped = relay.end();
      if (dropped > 0)
        this.opts.log.warn({ worker: worker.id, bytes: dropped }, 'worker: its last line was cut short');
    });
    lines.on('error', () => {});
    worker.on('exit', (code, signal) => this.onExit(member, code, signal));
    worker.on('error', (err) => this.opts.log.warn({ err, worker: worker.id }, 'worker: IPC error'));
    this.opts.log.info({ worker: worker.id, pid: worker.process.pid }, 'worker started');
  }

  /**
   * Sends `init` to the workers that said hello and may start. At start every one gets it at once (each
   * compiles the configuration meanwhile) and they open the ports one after the other, in index order
   * (`listen`): node:cluster's round robin then hands connections to them in that order, which is the
   * order their endpoint pickers take turns in (EndpointPicker's `worker`); with --reuse-port the first
   * opens the ports of the flags (a port 0 becomes a free one) and the others join it on those. Later (a
   * replacement) a worker is greeted and listens at once, on the ports.
   */
  private initReady(): void {
    if (!this.mayStart) return;
    const starting = this.firstListening !== undefined;
    for (const m of this.members.values()) {
      if (m.helloed && !m.greeted) this.init(m, !starting);
    }
    if (!starting) return;
    for (const m of [...this.members.values()].sort((a, b) => a.index - b.index)) {
      if (m.listening) continue;
      if (m.greeted && !m.toldToListen) {
        m.toldToListen = true;
        this.sendTo(m.worker, { t: 'listen', ...this.siblingPorts() });
      }
      return;
    }
  }

  /**
   * A worker may start: it gets the current configuration, whole (the file the others read, while it is
   * there), and the endpoints changed since.
   */
  private init(member: Member, listenNow: boolean): void {
    const current =
      this.config === undefined
        ? undefined
        : {
            seq: this.seq,
            base: this.configSeq,
            payload: this.currentBytes(),
            changes: endpointChanges(this.config.endpoints, this.endpoints),
          };
    member.greeted = true;
    this.sendTo(member.worker, {
      t: 'init',
      defaultKeyPem: this.opts.certificates.defaultKeyPem,
      defaultCertPem: this.opts.certificates.defaultCertPem,
      ticketKeys: this.opts.certificates.ticketKeys,
      worker: { index: member.index, count: this.opts.count },
      listenNow,
      ...(listenNow ? this.siblingPorts() : {}),
      ...(current === undefined ? {} : { current }),
    });
    if (listenNow) member.toldToListen = true;
  }

  /** The ports a worker opens alongside those listening (none listened yet: the flags' ports). */
  private siblingPorts(): { ports?: SiblingPorts } {
    return this.ports === undefined ? {} : { ports: this.ports };
  }

  private onMessage(member: Member, message: FromWorker): void {
    switch (message.t) {
      case 'hello':
        member.helloed = true;
        this.initReady();
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
        this.sweep();
        return;
      case 'needsWhole':
        // It kept an older configuration (it could not apply one): the current one, whole, with the
        // endpoints changed since. A newer configuration on its way would come to the same.
        if (message.seq === this.configSeq) {
          this.sendTo(member.worker, {
            t: 'config',
            seq: message.seq,
            payload: this.currentBytes(),
            changes: endpointChanges(this.config!.endpoints, this.endpoints),
          });
        }
        return;
      case 'applied':
        member.applied = Math.max(member.applied, message.seq);
        if (message.error !== undefined) this.failedIn(member, message.seq, message.error);
        this.settle();
        this.sweep();
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
    // A swap waiting for this worker waits for it no longer, nor does a file it was to read.
    this.settle();
    this.sweep();
    // The replacement takes the dead worker's turn.
    setTimeout(() => {
      if (!this.stopping) this.fork(member.index);
    }, delay).unref();
  }

  /**
   * Sends a swap (made once, if any worker is to get it) to every worker; resolves once every worker has
   * it (those that start later get it first), rejects if one could not apply it.
   */
  private broadcast(seq: number, message: () => ToWorker): Promise<void> {
    let made: ToWorker | undefined;
    for (const m of this.members.values()) {
      if (!m.greeted || !m.worker.isConnected()) continue;
      made ??= message();
      this.sendTo(m.worker, made);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.settle();
    });
  }

  /**
   * The current configuration's bytes: the file written for it while one is there, else a new one (the
   * bytes themselves where no file can be written).
   */
  private currentBytes(): PayloadBytes {
    const last = this.files.at(-1);
    if (last !== undefined && last.seq === this.configSeq) return { handover: last.handover };
    const bytes = encodePayload(this.config!);
    const handover = this.handover.write(bytes);
    if (handover === undefined) return { bytes };
    this.files.push({ seq: this.configSeq, handover });
    return { handover };
  }

  /**
   * Deletes the files no worker is still to read: a worker reads a file once it has applied every swap
   * before it, and one that has not been greeted yet will read the current configuration's only.
   */
  private sweep(): void {
    if (this.files.length === 0) return;
    this.files = this.files.filter(({ seq, handover }) => {
      for (const m of this.members.values()) {
        if (m.applied < seq && (m.greeted || seq === this.configSeq)) return true;
      }
      this.handover.remove(handover.file);
      return false;
    });
  }

  /** A worker kept its last configuration instead of swap `seq`: said, and that swap's waiter rejects. */
  private failedIn(member: Member, seq: number, error: string): void {
    this.opts.log.error(
      { worker: member.worker.id, pid: member.worker.process.pid, seq, error },
      'worker: configuration not applied; it serves the last one',
    );
    for (const w of this.waiters) if (w.seq === seq) w.failed ??= `worker ${member.worker.id}: ${error}`;
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
      if (w.seq > min) still.push(w);
      else if (w.failed === undefined) w.resolve();
      else w.reject(new Error(w.failed));
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
