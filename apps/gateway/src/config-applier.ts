// The one apply step every source feeds: compile a snapshot completely, then swap it in with one
// reference assignment (routes and certificates together), or swap only the endpoint table when only
// endpoints changed. A snapshot that is rejected leaves the running configuration as it was.
import { performance } from 'node:perf_hooks';
import type {
  Diagnostic,
  EndpointObjects,
  ErrorPolicy,
  SnapshotResult,
  SourceChange,
} from '@gateway/manifests';
import type { GatewayMetrics, UpstreamEndpointCount } from '@gateway/metrics';
import { compileRoutes, type RouteTableInput } from '@gateway/routing';
import type { CertificateStore } from '@gateway/tls';
import {
  backendsByService,
  type EndpointTable,
  type GatewayConfig,
  KNOWN_ANNOTATIONS,
  type Route,
  refreshEndpoints,
  type TranslateOptions,
  type TranslateResult,
} from '@gateway/translate';
import type { Logger } from 'pino';
import { compileSnapshot, describe, type ReconcileOutcome } from './reconciler.js';
import type { ConfigTarget } from './serving.js';

export interface ConfigApplierDeps {
  /** This process's data plane, or the worker processes (which compile what they are sent). */
  readonly target: ConfigTarget;
  /** Compiles the TLS bindings here too: for the certificates' diagnostics and expiry metric. */
  readonly certificates: CertificateStore;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly policy: ErrorPolicy;
  /** Called per compile: options may hold the time (certificate validity). */
  readonly options: () => TranslateOptions;
  /** After each swap: the Ingresses (`namespace/name`) the new configuration serves. */
  readonly applied?: ((served: ReadonlySet<string>) => void) | undefined;
}

/**
 * What the apply step keeps of the configuration it swapped in: what an endpoints-only change needs.
 * Not its routes: the data plane (or each worker) holds its own, and with workers the primary would keep
 * a compiled table (11.6 MB for 10,000 Ingresses) that nothing reads, alive while the next is built.
 */
type Kept = Pick<GatewayConfig, 'backends' | 'endpoints' | 'summary'>;

const NO_RULES: RouteTableInput<Route> = { rules: [] };
const NO_ROUTES = compileRoutes(NO_RULES);

/** `kept` as refreshEndpoints takes it (it reads backends and endpoints only). */
function asConfig(kept: Kept): GatewayConfig {
  return { ...kept, routes: NO_ROUTES, rules: NO_RULES, tls: [] };
}

export class ConfigApplier {
  private current: Kept | undefined;
  /** Lines logged for the last snapshot (cluster mode logs a problem once, not at every rebuild). */
  private logged = new Set<string>();
  /** Settles once the last swap serves everywhere (in every worker). */
  private lastSwap: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ConfigApplierDeps) {}

  apply(change: SourceChange): boolean {
    if (change.kind === 'snapshot') return this.applySnapshot(change.result);
    // Before a first configuration there are no routes for endpoints to matter to; the first snapshot
    // a source hands over already holds them.
    if (this.current !== undefined) this.applyEndpoints(change.objects, change.services);
    return true;
  }

  /** Resolves once the last configuration or endpoints applied serve (in every worker, with workers). */
  settled(): Promise<void> {
    return this.lastSwap;
  }

  /** Translates a snapshot under the source's error policy; applies nothing. */
  compile(result: SnapshotResult): ReconcileOutcome {
    return compileSnapshot(result, this.deps.options(), this.deps.policy);
  }

  /** Compiles and swaps in a whole snapshot; false (nothing changed) when it is rejected. */
  applySnapshot(result: SnapshotResult): boolean {
    const started = performance.now();
    return this.applyOutcome(this.compile(result), result, started);
  }

  /** `started`: when the compile began, so the logged time covers translate as well as the swap. */
  applyOutcome(outcome: ReconcileOutcome, result: SnapshotResult, started = performance.now()): boolean {
    const { target, certificates, metrics, log } = this.deps;
    this.logDiagnostics(outcome.diagnostics);
    metrics.setDiagnostics(outcome.diagnostics);
    if (!outcome.ok) {
      metrics.reloaded(false);
      log.error('invalid configuration; keeping the last good one');
      return false;
    }
    const config = outcome.config;
    const compiled = certificates.compile(config.tls);
    for (const d of compiled.diagnostics) {
      log.warn({ namespace: d.namespace, secret: d.secretName }, `certificate: ${d.message}`);
    }
    const swapped = target.setConfig(config, compiled.certificates);
    this.current = { backends: config.backends, endpoints: config.endpoints, summary: config.summary };
    // A cluster changes EndpointSlices far more often than anything else: its index of backends by
    // Service is made with the configuration (2-8 ms at 10,000), not by the first EndpointSlice change.
    if (this.deps.policy === 'skip-object') backendsByService(config.backends);
    this.publishEndpoints(config, config.endpoints);
    metrics.setCertificateExpiry(compiled.certificates.expiry());
    metrics.setUnhonouredAnnotations(outcome.translated.unhonouredAnnotations, KNOWN_ANNOTATIONS);
    metrics.reloaded(true);
    // Only where status is written (a cluster): 10,000 names made at every rebuild otherwise.
    const served = this.deps.applied === undefined ? undefined : servedIngresses(result, outcome.translated);
    const said = summary(config);
    // Said, and written into Ingress status, once it serves: with workers, once every one swapped it in.
    this.afterSwap(swapped, () => {
      if (served !== undefined) this.deps.applied?.(served);
      log.info({ summary: said, ms: round(performance.now() - started) }, 'configuration applied');
    });
    return true;
  }

  /**
   * A file is re-read as a whole, and its problems are said again each time. A cluster rebuilds on every
   * change of thousands of objects: each problem is logged when it appears, not at each rebuild.
   */
  private logDiagnostics(diagnostics: readonly Diagnostic[]): void {
    if (this.deps.policy === 'reject-snapshot') {
      logDiagnostics(this.deps.log, diagnostics);
      return;
    }
    const lines = describe(diagnostics);
    const now = new Set(lines);
    diagnostics.forEach((d, i) => {
      const line = lines[i]!;
      if (this.logged.has(line)) return;
      if (d.severity === 'error') this.deps.log.error(line);
      else this.deps.log.warn(line);
    });
    this.logged = now;
  }

  /** Swaps in fresh endpoints for the backends of `services`; routes and balancer state stay. */
  applyEndpoints(objects: EndpointObjects, services: ReadonlySet<string>): void {
    const current = this.current!;
    const started = performance.now();
    const endpoints = refreshEndpoints(asConfig(current), objects, services);
    if (endpoints === current.endpoints) return;
    const swapped = this.deps.target.setEndpoints(endpoints);
    this.current = { ...current, endpoints };
    this.publishChangedEndpoints(current, endpoints, services);
    this.afterSwap(swapped, () =>
      this.deps.log.info(
        { services: [...services].slice(0, 10), ms: round(performance.now() - started) },
        'endpoints applied',
      ),
    );
  }

  /** Runs `then` now when the swap is done, else once it is; `settled()` follows the last swap. */
  private afterSwap(swapped: undefined | Promise<void>, then: () => void): void {
    if (swapped === undefined) {
      then();
      return;
    }
    this.lastSwap = swapped.then(then, (err: unknown) => {
      this.deps.log.error({ err }, 'workers: a configuration was not applied');
    });
  }

  /** `upstream_endpoints` of `services` only: the rest of the table is the one already published. */
  private publishChangedEndpoints(
    config: Pick<GatewayConfig, 'backends'>,
    endpoints: EndpointTable,
    services: ReadonlySet<string>,
  ): void {
    const byService = backendsByService(config.backends);
    const changes: UpstreamEndpointCount[] = [];
    for (const service of services) {
      // In key order, as publishEndpoints lists them: with one series per Service, the last port wins.
      for (const b of byService.get(service) ?? []) {
        changes.push({
          namespace: b.namespace,
          service: b.service,
          count: endpoints.get(b.key)?.length ?? 0,
        });
      }
    }
    this.deps.metrics.updateUpstreamEndpoints(changes);
    this.published = undefined;
  }

  /**
   * Every `upstream_endpoints` series, unless the backends and their counts are the ones published last
   * (an Ingress change rebuilds 10,000 backends of which none changed: checking costs a lookup each,
   * publishing costs building and diffing the whole list).
   */
  private publishEndpoints(config: GatewayConfig, endpoints: EndpointTable): void {
    const published = this.published;
    if (published !== undefined && published.size === config.backends.size) {
      let same = true;
      for (const b of config.backends.values()) {
        if (published.get(b.key) !== (endpoints.get(b.key)?.length ?? 0)) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    const counts = new Map<string, number>();
    const list: UpstreamEndpointCount[] = [];
    for (const b of config.backends.values()) {
      const count = endpoints.get(b.key)?.length ?? 0;
      counts.set(b.key, count);
      list.push({ namespace: b.namespace, service: b.service, count });
    }
    this.deps.metrics.setUpstreamEndpoints(list);
    this.published = counts;
  }

  /** Backend key → endpoint count of the last full `publishEndpoints`; undefined after a partial one. */
  private published: Map<string, number> | undefined = undefined;
}

/** The Ingresses a configuration serves: ours by class, valid, and not excluded (canary, fail-closed). */
function servedIngresses(result: SnapshotResult, translated: TranslateResult): Set<string> {
  const key = (namespace: string | undefined, name: string) => `${namespace ?? 'default'}/${name}`;
  const served = new Set(
    result.snapshot.ingresses.map((i) => key(i.object.metadata.namespace, i.object.metadata.name)),
  );
  for (const i of translated.ignored) served.delete(key(i.namespace, i.name));
  for (const i of translated.excluded) served.delete(key(i.namespace, i.name));
  return served;
}

export function summary(config: GatewayConfig): string {
  return `${config.rules.rules.length} rules, ${config.backends.size} backends, ${config.tls.length} certificates`;
}

export function logDiagnostics(log: Logger, diagnostics: readonly Diagnostic[]): void {
  const lines = describe(diagnostics);
  diagnostics.forEach((d, i) => {
    if (d.severity === 'error') log.error(lines[i]);
    else log.warn(lines[i]);
  });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
