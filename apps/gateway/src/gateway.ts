// The gateway: a source of objects (a YAML file or directory, or a Kubernetes API server) → the apply
// step → the data plane, with metrics, health, access log and graceful shutdown.
import { performance } from 'node:perf_hooks';
import type { ConfigSource, ErrorPolicy, SnapshotResult } from '@gateway/manifests';
import { GatewayMetrics } from '@gateway/metrics';
import { FileSource, loadConfig } from '@gateway/source-file';
import { CertificateStore } from '@gateway/tls';
import { CertificateCache, type TranslateOptions } from '@gateway/translate';
import type { Logger } from 'pino';
import type { LineSink } from './access-log.js';
import { createAdminServer } from './admin-server.js';
import type { ClusterStatus } from './cluster-source.js';
import { ConfigApplier, summary } from './config-applier.js';
import { EXIT_INVALID, type Flags } from './flags.js';
import { compileSnapshot, describe, describeLeftOut } from './reconciler.js';
import { LocalServing } from './serving.js';
import { WorkerFleet } from './worker-fleet.js';

export { EXIT_INVALID };

export function translateOptions(flags: Flags): TranslateOptions {
  return {
    ingressClass: flags.ingressClass,
    controllerName: flags.controllerName,
    allowLoopbackExternalName: flags.config !== undefined,
    serveUnhonouredAccessAnnotations: flags.serveUnhonouredAccessAnnotations,
  };
}

/** A source of objects, and (in a cluster) how to start writing Ingress status. */
export interface SourceSetup {
  readonly source: ConfigSource;
  readonly startStatus?: () => ClusterStatus | undefined;
}

/** The source the flags name; throws (with a message for the operator) when it cannot be set up. */
export async function sourceFor(flags: Flags, log: Logger): Promise<SourceSetup> {
  if (flags.config !== undefined) return { source: new FileSource(flags.config) };
  const { clusterSource } = await import('./cluster-source.js');
  return clusterSource(flags, log);
}

/**
 * `--check`: validate and print diagnostics; 0 when valid, 2 when not. In a cluster: list everything
 * once, report, and stop (objects in error are left out when serving, so only they are reported).
 */
export async function check(
  flags: Flags,
  out: (line: string) => void,
  log: Logger,
  setup?: SourceSetup,
): Promise<number> {
  const { source } = setup ?? (await sourceFor(flags, log));
  let result: SnapshotResult;
  const policy: ErrorPolicy = source.errorPolicy;
  if (flags.config !== undefined) {
    result = await loadConfig(flags.config);
  } else {
    result = await source.start(() => {});
    await source.close();
  }
  const outcome = compileSnapshot(result, { ...translateOptions(flags), now: Date.now() }, policy);
  for (const line of describe(outcome.diagnostics)) out(line);
  if (!outcome.ok) return EXIT_INVALID;
  for (const line of describeLeftOut(outcome.translated)) out(line);
  out(`configuration is valid: ${summary(outcome.config)}`);
  return 0;
}

export interface RunningGateway {
  ports: { http: number; https: number; metrics: number };
  stop(): Promise<void>;
}

export async function startGateway(
  flags: Flags,
  log: Logger,
  sink: LineSink,
  setup?: SourceSetup,
): Promise<RunningGateway | number> {
  const { source, startStatus } = setup ?? (await sourceFor(flags, log));
  // --workers 1: everything in this process, as before workers existed. Otherwise this process (the
  // primary) owns the source, status, the apply step and the admin server; the workers serve.
  const fleetMode = flags.workers > 1;
  const metrics = new GatewayMetrics({ scope: fleetMode ? 'configuration' : 'all' });
  const certificates = await CertificateStore.create();
  const fleet = fleetMode ? new WorkerFleet({ count: flags.workers, certificates, log, sink }) : undefined;
  const local = fleet === undefined ? new LocalServing(flags, certificates, metrics, log, sink) : undefined;
  const options = translateOptions(flags);
  // Parsed certificates survive between compiles: an unchanged Secret is not parsed again.
  const certificateCache = new CertificateCache();
  const status = startStatus?.();
  const applier = new ConfigApplier({
    target: fleet ?? local!,
    certificates,
    metrics,
    log,
    policy: source.errorPolicy,
    options: () => ({ ...options, now: Date.now(), certificateCache }),
    applied: status === undefined ? undefined : (served) => status.setServed(served),
  });

  let live = false;
  let ready = false;
  let stopped = false;
  const onChange = (change: Parameters<typeof applier.apply>[0]): void => {
    if (!stopped) applier.apply(change);
  };
  // Workers load while the source reads: they are greeted with the first configuration once it is there.
  fleet?.prefork();
  const first = source.start(onChange);
  let firstApplied = false;
  if (source.errorPolicy === 'reject-snapshot') {
    // A file that is wrong at start is a mistake to fix now: exit 2 before listening on anything.
    const loaded = await first;
    const compileStarted = performance.now();
    const outcome = applier.compile(loaded);
    if (!outcome.ok) {
      fleet?.abort();
      await source.close();
      // Plain text on stderr, as --check prints it: this is read by a person at a terminal or in a pod log.
      for (const line of describe(outcome.diagnostics)) process.stderr.write(`${line}\n`);
      process.stderr.write(`ingress-gateway: invalid configuration in ${source.description}; not starting\n`);
      return EXIT_INVALID;
    }
    // With workers, each gets it before its ports open.
    applier.applyOutcome(outcome, loaded, compileStarted);
    firstApplied = true;
  }

  const admin = createAdminServer({
    live: () => live && (fleet === undefined || fleet.listening > 0),
    ready: () => ready,
    metrics: async () =>
      fleet === undefined ? metrics.render() : metrics.renderAggregate(await fleet.metrics()),
  });
  const ports = await (fleet ?? local!.dataPlane).listen();
  await admin.listen({ host: flags.bindAddress, port: flags.metricsPort });
  const metricsPort = (admin.server.address() as { port: number }).port;
  live = true;
  if (firstApplied) {
    await applier.settled();
    ready = !stopped;
  }
  log.info(
    { http: ports.httpPort, https: ports.httpsPort, metrics: metricsPort, workers: flags.workers },
    'gateway listening',
  );
  if (!firstApplied) {
    // A cluster: serve (404 for now) while the informers list; ready once every one has, and (with
    // workers) once every worker serves what they listed.
    first.then(
      (loaded) => {
        if (stopped) return;
        applier.applySnapshot(loaded);
        return applier.settled().then(() => {
          if (stopped) return;
          ready = true;
          log.info({ source: source.description }, 'synced: ready');
        });
      },
      (err: unknown) => log.error({ err }, 'source failed'),
    );
  }

  return {
    ports: { http: ports.httpPort, https: ports.httpsPort, metrics: metricsPort },
    async stop() {
      ready = false;
      stopped = true;
      await status?.close();
      await source.close();
      await (fleet ?? local!).close(flags.shutdownTimeout * 1000);
      live = false;
      await admin.close();
    },
  };
}
