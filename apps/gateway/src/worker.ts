// A data-plane worker (`--workers N`, N > 1): serves the ports it shares with its siblings (node:cluster's
// round robin from the primary's socket, or with --reuse-port its own SO_REUSEPORT sockets),
// with the configuration the primary sends it as data. It owns no source, writes no status and no stdout:
// its log and access-log lines go to the primary in batches of whole lines (a pipe of their own), and the
// primary alone writes stdout, so lines of several workers never interleave, whatever their length.
import cluster from 'node:cluster';
import net from 'node:net';
import { GatewayMetrics } from '@gateway/metrics';
import { CertificateStore } from '@gateway/tls';
import type { EndpointTable } from '@gateway/translate';
import { pino } from 'pino';
import type { LineSink } from './access-log.js';
import { applyConfigDelta } from './config-delta.js';
import type { Flags } from './flags.js';
import { type PayloadBytes, readPayloadBytes } from './handover.js';
import { LocalServing } from './serving.js';
import {
  type ConfigPayload,
  decodeDelta,
  decodePayload,
  type EndpointChanges,
  type FromWorker,
  fromPayload,
  type SiblingPorts,
  type ToWorker,
  WORKER_LOG_FD,
  withChanges,
} from './worker-protocol.js';

/**
 * Lines (each write whole lines: pino's, the access log's batches) to the primary, through the log pipe.
 * Writes do not block: a primary busy compiling a configuration leaves them queued in this process.
 */
class PrimarySink implements LineSink {
  readonly #pipe = new net.Socket({ fd: WORKER_LOG_FD, readable: false, writable: true });

  constructor() {
    // The primary is gone: nothing reads the lines any more (the worker is stopping, see `disconnect`).
    this.#pipe.on('error', () => {});
  }

  write(chunk: string): void {
    this.#pipe.write(chunk);
  }

  writeBytes(bytes: Buffer): void {
    this.#pipe.write(bytes);
  }

  /** At exit: `done` once every line is with the kernel, or at once when nobody reads them any more. */
  flush(done?: () => void): void {
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      done?.();
    };
    if (this.#pipe.destroyed) {
      once();
      return;
    }
    this.#pipe.once('close', once);
    this.#pipe.end(once);
  }
}

function send(message: FromWorker, done?: () => void): void {
  if (!process.connected) {
    done?.();
    return;
  }
  process.send!(message, undefined, undefined, () => done?.());
}

export function runWorker(flags: Flags): void {
  const sink = new PrimarySink();
  const log = pino({ base: { worker: cluster.worker?.id }, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  let serving: LocalServing | undefined;
  let certificates: CertificateStore | undefined;
  let metrics: GatewayMetrics | undefined;
  let endpoints: EndpointTable = new Map();
  let stopping = false;

  /**
   * Reads, checks, decodes and compiles a configuration and swaps it in; throws (keeping what this worker
   * serves) when any step fails.
   */
  /** The configuration swapped in last, as sent (what a `config-delta` builds on), and its swap. */
  let held: { seq: number; payload: ConfigPayload } | undefined;

  /** Compiles a configuration and swaps it in; throws (keeping what this worker serves) on any failure. */
  const swapIn = (payload: ConfigPayload, seq: number): void => {
    const config = fromPayload(payload);
    const compiled = certificates!.compile(config.tls);
    serving!.setConfig(config, compiled.certificates);
    endpoints = config.endpoints;
    held = { seq, payload };
  };

  /** A whole configuration: read, checked, decoded; `changes`: endpoints changed since it was made. */
  const apply = (ref: PayloadBytes, seq: number, changes: Readonly<EndpointChanges> = []): void => {
    const payload = decodePayload(readPayloadBytes(ref));
    swapIn(
      changes.length === 0 ? payload : { ...payload, endpoints: withChanges(payload.endpoints, changes) },
      seq,
    );
  };

  const stop = (timeoutMs: number): void => {
    if (stopping) return;
    stopping = true;
    const closed = serving?.close(timeoutMs) ?? Promise.resolve();
    closed.then(
      () => sink.flush(() => process.exit(0)),
      (err: unknown) => {
        log.error({ err }, 'worker: shutdown failed');
        sink.flush(() => process.exit(1));
      },
    );
  };

  // In order: a configuration sent while the worker starts is applied after the one it started with.
  let queue = Promise.resolve();
  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.t) {
      case 'init': {
        certificates = CertificateStore.withDefault(
          message.defaultKeyPem,
          message.defaultCertPem,
          message.ticketKeys,
        );
        metrics = new GatewayMetrics({ scope: 'traffic' });
        serving = new LocalServing(flags, certificates, metrics, log, sink, message.worker);
        // Serve nothing before the configuration the primary has: it is applied, then the ports open. A
        // worker that cannot apply it does not listen: it says why and exits, and the primary decides.
        if (message.current !== undefined)
          apply(message.current.payload, message.current.base, message.current.changes);
        const siblings = message.listenNow ? message.ports : await toldToListen;
        const ports = await serving.dataPlane.listen(flags.reusePort ? siblings : undefined);
        send({
          t: 'listening',
          http: ports.httpPort,
          https: ports.httpsPort,
          seq: message.current?.seq ?? 0,
        });
        return;
      }
      case 'config':
        try {
          apply(message.payload, message.seq, message.changes);
          send({ t: 'applied', seq: message.seq });
        } catch (err) {
          // A file gone, cut short or changed, or a configuration this worker cannot compile (the primary
          // compiled the same data already): it keeps serving the last one, and says so.
          log.error({ err, seq: message.seq }, 'worker: configuration not applied; keeping the last one');
          send({ t: 'applied', seq: message.seq, error: (err as Error).message });
        }
        return;
      case 'config-delta':
        try {
          const delta = decodeDelta(message.delta);
          if (held === undefined || held.seq !== delta.base) {
            send({ t: 'needsWhole', seq: message.seq });
            return;
          }
          swapIn(applyConfigDelta(held.payload, endpoints, delta), message.seq);
          send({ t: 'applied', seq: message.seq });
        } catch (err) {
          log.error({ err, seq: message.seq }, 'worker: configuration not applied; keeping the last one');
          send({ t: 'applied', seq: message.seq, error: (err as Error).message });
        }
        return;
      case 'endpoints':
        endpoints = withChanges(endpoints, message.changes);
        serving!.setEndpoints(endpoints);
        send({ t: 'applied', seq: message.seq });
        return;
      case 'metrics':
        send({ t: 'metrics', id: message.id, metrics: await metrics!.snapshot() });
        return;
      case 'shutdown':
        stop(message.timeoutMs);
        return;
    }
  };
  /** At start: the primary's word that it is this worker's turn to open the ports (see `init`). */
  let listenTurn: (ports: SiblingPorts | undefined) => void = () => {};
  const toldToListen = new Promise<SiblingPorts | undefined>((resolve) => {
    listenTurn = resolve;
  });
  process.on('message', (message: ToWorker) => {
    // Not behind the `init` that waits for it.
    if (message.t === 'listen') {
      listenTurn(message.ports);
      return;
    }
    // Metrics are read at once, not behind a configuration being compiled.
    if (message.t === 'metrics' && metrics !== undefined) {
      void handle(message);
      return;
    }
    queue = queue.then(
      () => handle(message),
      () => handle(message),
    );
    queue.catch((err: unknown) => {
      log.error({ err }, 'worker: message failed');
      // A worker that cannot listen is of no use: it says why and exits (the primary decides what next).
      if (message.t === 'init') {
        send({ t: 'failed', message: (err as Error).message });
        sink.flush(() => process.exit(1));
      }
    });
  });
  // The primary is gone (killed): nobody hands this worker configurations or reads its lines.
  process.on('disconnect', () => stop(flags.shutdownTimeout * 1000));
  // A signal to the worker alone: drain and exit, and the primary starts another. Ctrl-C reaches the
  // whole process group: the primary handles it for all.
  process.on('SIGTERM', () => stop(flags.shutdownTimeout * 1000));
  process.on('SIGINT', () => {});
  send({ t: 'hello' });
}
