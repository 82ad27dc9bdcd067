// Standalone mode: a watched YAML file or directory → translate → certificates + data plane, with metrics,
// health, access log and graceful shutdown.
import { EndpointPicker } from '@gateway/balancer';
import { DataPlane, type RequestRecord } from '@gateway/dataplane';
import type { Diagnostic } from '@gateway/manifests';
import { GatewayMetrics } from '@gateway/metrics';
import { loadConfig, watchConfig } from '@gateway/source-file';
import { CertificateStore } from '@gateway/tls';
import type { GatewayConfig, Route, TranslateOptions } from '@gateway/translate';
import type { Logger } from 'pino';
import { AccessLog, type LineSink } from './access-log.js';
import { createAdminServer } from './admin-server.js';
import type { Flags } from './flags.js';
import { compileSnapshot, describe, type SnapshotResult } from './reconciler.js';

export const EXIT_INVALID = 2;

export function translateOptions(flags: Flags): TranslateOptions {
  return {
    ingressClass: flags.ingressClass,
    controllerName: flags.controllerName,
    allowLoopbackExternalName: flags.config !== undefined,
  };
}

/** `--check`: validate and print diagnostics; 0 when valid, 2 when not. */
export async function check(flags: Flags, out: (line: string) => void): Promise<number> {
  const result = await loadConfig(flags.config!);
  const outcome = compileSnapshot(result, translateOptions(flags));
  for (const line of describe(outcome.diagnostics)) out(line);
  if (!outcome.ok) return EXIT_INVALID;
  out(`configuration is valid: ${summary(outcome.config)}`);
  return 0;
}

/** Every route of the configuration (rules, per-host defaults, the catch-all): each names its Ingress. */
function* routesOf(config: GatewayConfig): Generator<Route> {
  for (const rule of config.rules.rules) yield rule.target;
  for (const d of config.rules.hostDefaults ?? []) yield d.target;
  if (config.rules.catchAll !== undefined) yield config.rules.catchAll;
}

function summary(config: GatewayConfig): string {
  return `${config.rules.rules.length} rules, ${config.backends.size} backends, ${config.tls.length} certificates`;
}

export interface RunningGateway {
  ports: { http: number; https: number; metrics: number };
  stop(): Promise<void>;
}

export async function startGateway(
  flags: Flags,
  log: Logger,
  sink: LineSink,
): Promise<RunningGateway | number> {
  const options = translateOptions(flags);
  const loaded = await loadConfig(flags.config!);
  const first = compileSnapshot(loaded, options);
  if (!first.ok) {
    // Plain text on stderr, as --check prints it: this is read by a person at a terminal or in a pod log.
    for (const line of describe(first.diagnostics)) process.stderr.write(`${line}\n`);
    process.stderr.write(`ingress-gateway: invalid configuration in ${flags.config}; not starting\n`);
    return EXIT_INVALID;
  }
  logDiagnostics(log, first.diagnostics);

  const metrics = new GatewayMetrics();
  const certificates = await CertificateStore.create();
  const picker = new EndpointPicker();
  const accessLog = flags.accessLog ? new AccessLog(sink) : undefined;
  const dataPlane = new DataPlane({
    host: flags.bindAddress,
    httpPort: flags.httpPort,
    httpsPort: flags.httpsPort,
    certificates,
    picker,
    logger: log,
    connectTimeoutMs: flags.proxyConnectTimeout * 1000,
    readTimeoutMs: flags.proxyReadTimeout * 1000,
    sendTimeoutMs: flags.proxySendTimeout * 1000,
    redirectHttpsPort: flags.redirectHttpsPort,
    observer: {
      requestEnded(r: RequestRecord) {
        metrics.requestEnded({
          namespace: r.namespace,
          ingress: r.ingress,
          service: r.service,
          host: r.route?.host ?? '',
          path: r.route?.path ?? '',
          method: r.method,
          status: r.status,
          durationSeconds: r.request_time,
          upstreamSeconds: r.upstream_response_time ?? undefined,
          requestBytes: r.request_length,
          responseBytes: r.bytes_sent,
        });
        accessLog?.write(r);
      },
      connectionOpened: (scheme) => metrics.connectionOpened(scheme),
      connectionClosed: (scheme) => metrics.connectionClosed(scheme),
    },
  });

  let live = false;
  let ready = false;
  const apply = (config: GatewayConfig): void => {
    for (const d of certificates.update(config.tls)) {
      log.warn({ namespace: d.namespace, secret: d.secretName }, `certificate: ${d.message}`);
    }
    dataPlane.setConfig(config);
    picker.retain(config.backends.keys());
    metrics.setUpstreamEndpoints(
      [...config.backends.values()].map((b) => ({
        namespace: b.namespace,
        service: b.service,
        count: b.endpoints.length,
      })),
    );
    metrics.setCertificateExpiry(certificates.expiry());
    // Done before any I/O is handled: a scrape after this apply sees no series of a deleted Ingress.
    metrics.retainIngresses(routesOf(config)).catch((err: unknown) => {
      log.error({ err }, 'metrics: removing the series of deleted Ingresses failed');
    });
    metrics.reloaded(true);
    log.info({ summary: summary(config) }, 'configuration applied');
  };
  apply(first.config);
  ready = true;

  const admin = createAdminServer({ live: () => live, ready: () => ready, metrics: () => metrics.render() });
  const ports = await dataPlane.listen();
  await admin.listen({ host: flags.bindAddress, port: flags.metricsPort });
  const metricsPort = (admin.server.address() as { port: number }).port;
  live = true;
  log.info({ http: ports.httpPort, https: ports.httpsPort, metrics: metricsPort }, 'gateway listening');

  const watcher = watchConfig(
    flags.config!,
    (result: SnapshotResult) => {
      const outcome = compileSnapshot(result, options);
      logDiagnostics(log, outcome.diagnostics);
      if (!outcome.ok) {
        metrics.reloaded(false);
        log.error({ config: flags.config }, 'invalid configuration; keeping the last good one');
        return;
      }
      apply(outcome.config);
    },
    { since: loaded.hash },
  );

  return {
    ports: { http: ports.httpPort, https: ports.httpsPort, metrics: metricsPort },
    async stop() {
      ready = false;
      await watcher.close();
      await dataPlane.close(flags.shutdownTimeout * 1000);
      live = false;
      await admin.close();
      accessLog?.flush();
    },
  };
}

function logDiagnostics(log: Logger, diagnostics: readonly Diagnostic[]): void {
  const lines = describe(diagnostics);
  diagnostics.forEach((d, i) => {
    if (d.severity === 'error') log.error(lines[i]);
    else log.warn(lines[i]);
  });
}
