import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { BoundHistogram, counterEntry, type RequestSeries, SeriesCache } from './bound-series.js';

const PREFIX = 'ingress_gateway_';

/** ingress-nginx's buckets (controller/metric/collectors/socket.go). */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const SIZE_BUCKETS: readonly number[] = [10, 100, 1000, 10000, 100000, 1e6, 1e7];

const REQUEST_LABELS = ['namespace', 'ingress', 'service', 'host', 'path', 'method', 'status'] as const;
const BACKEND_LABELS = ['namespace', 'ingress', 'service'] as const;

/** An Ingress, as `retainIngresses` takes it: a route of the configuration fits. */
const DIAGNOSTIC_KINDS: ReadonlySet<string> = new Set([
  'Ingress',
  'IngressClass',
  'Service',
  'EndpointSlice',
  'Endpoints',
  'Secret',
]);

export interface IngressRef {
  namespace: string;
  ingress: string;
}

/**
 * One finished request. Label values (namespace, ingress, service, host, path) are the matched rule's,
 * '' when nothing matched; they must never come from raw request data (Host header, request path…),
 * or a client could create unbounded series. `method` is bounded by Node's HTTP parser, `status` by HTTP.
 */
export interface RequestEnded {
  namespace: string;
  ingress: string;
  service: string;
  host: string;
  path: string;
  method: string;
  status: number;
  durationSeconds: number;
  /** Absent when no upstream answered (404 without a rule, 503 without endpoints…). */
  upstreamSeconds?: number;
  /** Headers plus body, as nginx's `$request_length`. */
  requestBytes: number;
  /** Headers plus body, as nginx's `$bytes_sent`. */
  responseBytes: number;
  /**
   * The matched route object (any object standing for the label values above, the same object for the
   * same values): its series are bound once and reused. Absent: the labels are hashed on every call.
   */
  route?: object;
}

function requestLabels(r: RequestEnded): Record<(typeof REQUEST_LABELS)[number], string | number> {
  return {
    namespace: r.namespace,
    ingress: r.ingress,
    service: r.service,
    host: r.host,
    path: r.path,
    method: r.method,
    status: r.status,
  };
}

function backendLabels(r: RequestEnded): Record<(typeof BACKEND_LABELS)[number], string> {
  return { namespace: r.namespace, ingress: r.ingress, service: r.service };
}

function isUnmatched(r: RequestEnded): boolean {
  return r.namespace === '' && r.ingress === '' && r.service === '' && r.host === '' && r.path === '';
}

/** Stands for the unmatched requests' labels (all '' but method and status) in the series cache. */
const UNMATCHED = {};

export interface UpstreamEndpointCount {
  namespace: string;
  service: string;
  count: number;
}

export interface CertificateExpiry {
  namespace: string;
  secretName: string;
  host: string;
  /** Unix time in seconds. */
  notAfter: number;
}

export type Scheme = 'http' | 'https';

/**
 * Which metrics a process exports. With `--workers N` a data-plane worker exports `traffic` (requests,
 * their histograms, active connections), and the primary `configuration` (reloads, certificates,
 * endpoints, annotations, diagnostics): the primary's `/metrics` sums the workers' traffic and reports
 * each configuration gauge once, as the primary knows it. One process alone exports `all`.
 */
export type MetricsScope = 'all' | 'traffic' | 'configuration';

/** One process's metrics as data (prom-client's JSON form), to cross a process boundary. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Default metrics of which the sum over processes means nothing: the primary's value (listed first)
 * stands for the gateway.
 */
const FIRST_OF_PROCESSES: ReadonlySet<string> = new Set([
  'process_start_time_seconds',
  'process_max_fds',
  'nodejs_version_info',
]);

/** The label a name outside the known set is counted under, so no label value comes from input. */
export const UNKNOWN_ANNOTATION = 'unknown';

/**
 * Every metric of the gateway, on a registry of its own (with prom-client's default process and Node.js
 * metrics), fed by the data plane and the reload loop.
 */
export class GatewayMetrics {
  readonly registry: Registry;

  private readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  private readonly requestDuration: Histogram<(typeof REQUEST_LABELS)[number]>;
  private readonly upstreamDuration: Histogram<(typeof BACKEND_LABELS)[number]>;
  private readonly requestSize: Histogram<(typeof BACKEND_LABELS)[number]>;
  private readonly responseSize: Histogram<(typeof BACKEND_LABELS)[number]>;
  private readonly lastReloadSuccessful: Gauge;
  private readonly reloads: Counter<'result'>;
  private readonly sslExpire: Gauge<'namespace' | 'secret_name' | 'host'>;
  private readonly upstreamEndpoints: Gauge<'namespace' | 'service'>;
  private readonly activeConnections: Gauge<'scheme'>;
  private readonly unhonouredAnnotations: Gauge<'annotation'>;
  private readonly diagnostics: Gauge<'kind' | 'severity'>;
  private readonly series = new SeriesCache();
  /** The value of every `upstream_endpoints` series, namespace → service → count, to diff against. */
  private upstreamCounts = new Map<string, Map<string, number>>();

  constructor(opts: { scope?: MetricsScope } = {}) {
    const scope = opts.scope ?? 'all';
    this.registry = new Registry();
    // A metric outside the scope still exists, so callers need no checks, but is on no registry.
    const traffic = scope === 'configuration' ? [] : [this.registry];
    const configuration = scope === 'traffic' ? [] : [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({
      name: `${PREFIX}requests_total`,
      help: 'Requests answered, by matched rule, method and status.',
      labelNames: REQUEST_LABELS,
      registers: traffic,
    });
    this.requestDuration = new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: 'Time from the first byte of the request to the last byte of the response, in seconds.',
      labelNames: REQUEST_LABELS,
      buckets: [...DURATION_BUCKETS],
      registers: traffic,
    });
    this.upstreamDuration = new Histogram({
      name: `${PREFIX}upstream_response_duration_seconds`,
      help: 'Time spent waiting for and receiving the upstream response, in seconds.',
      labelNames: BACKEND_LABELS,
      buckets: [...DURATION_BUCKETS],
      registers: traffic,
    });
    this.requestSize = new Histogram({
      name: `${PREFIX}request_size_bytes`,
      help: 'Request length (request line, headers and body), in bytes.',
      labelNames: BACKEND_LABELS,
      buckets: [...SIZE_BUCKETS],
      registers: traffic,
    });
    this.responseSize = new Histogram({
      name: `${PREFIX}response_size_bytes`,
      help: 'Bytes sent to the client (status line, headers and body).',
      labelNames: BACKEND_LABELS,
      buckets: [...SIZE_BUCKETS],
      registers: traffic,
    });
    this.lastReloadSuccessful = new Gauge({
      name: `${PREFIX}config_last_reload_successful`,
      help: 'Whether the last configuration reload succeeded (1) or not (0).',
      registers: configuration,
    });
    this.reloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Configuration reloads, by result.',
      labelNames: ['result'],
      registers: configuration,
    });
    this.sslExpire = new Gauge({
      name: `${PREFIX}ssl_expire_time_seconds`,
      help: 'Expiry (notAfter) of the certificate served for a host, in Unix time.',
      labelNames: ['namespace', 'secret_name', 'host'],
      registers: configuration,
    });
    this.upstreamEndpoints = new Gauge({
      name: `${PREFIX}upstream_endpoints`,
      help: 'Ready endpoints of a Service referenced by an Ingress.',
      labelNames: ['namespace', 'service'],
      registers: configuration,
    });
    this.activeConnections = new Gauge({
      name: `${PREFIX}active_connections`,
      help: 'Open client connections, by scheme.',
      labelNames: ['scheme'],
      registers: traffic,
    });
    this.unhonouredAnnotations = new Gauge({
      name: `${PREFIX}unhonoured_annotations`,
      help: 'Ingresses of the current configuration (served or excluded) carrying an ingress-nginx annotation the gateway does not honour, by annotation.',
      labelNames: ['annotation'],
      registers: configuration,
    });

    this.diagnostics = new Gauge({
      name: `${PREFIX}config_diagnostics`,
      help: 'Problems found in the objects of the current configuration, by object kind and severity (an error leaves its object or field out).',
      labelNames: ['kind', 'severity'],
      registers: configuration,
    });

    // Present from the first scrape, so rate() and alerts see a 0 rather than a missing series.
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.activeConnections.set({ scheme: 'http' }, 0);
    this.activeConnections.set({ scheme: 'https' }, 0);
  }

  /**
   * Hot path: called once per finished request. See `RequestEnded` about label values.
   *
   * With `r.route` (or for an unmatched request) the series are bound once per route, method and status
   * (bound-series.ts) and each later request adds to prom-client's entries directly: no label object, no
   * hashing. prom-client's own `labels()` children were measured no faster than plain label objects
   * (2.5–4 µs per request either way), since it hashes the labels on every call even through a child.
   *
   * Nothing here tracks series for `retainIngresses`: prom-client already keeps each series' first label
   * object, and `retainIngresses` reads them at reload time. A Map of label sets keyed by the joined values,
   * filled here, was measured at +14% per call (+4% with nested Maps keyed by each value); see the README.
   */
  requestEnded(r: RequestEnded): void {
    const key = r.route ?? (isUnmatched(r) ? UNMATCHED : undefined);
    if (key === undefined) {
      this.requestEndedSlow(r);
      return;
    }
    let s = this.series.get(key, r.method, r.status);
    if (s === undefined) {
      s = this.bind(r);
      this.series.set(key, r.method, r.status, s);
    }
    s.requests.value += 1;
    s.duration.observe(r.durationSeconds);
    if (r.upstreamSeconds !== undefined) {
      s.upstream ??= BoundHistogram.of(this.upstreamDuration, backendLabels(r));
      s.upstream.observe(r.upstreamSeconds);
    }
    s.requestSize.observe(r.requestBytes);
    s.responseSize.observe(r.responseBytes);
  }

  private bind(r: RequestEnded): RequestSeries {
    const request = requestLabels(r);
    const backend = backendLabels(r);
    return {
      requests: counterEntry(this.requests, request),
      duration: BoundHistogram.of(this.requestDuration, request),
      upstream: null,
      requestSize: BoundHistogram.of(this.requestSize, backend),
      responseSize: BoundHistogram.of(this.responseSize, backend),
    };
  }

  private requestEndedSlow(r: RequestEnded): void {
    const backend = backendLabels(r);
    const request = requestLabels(r);
    this.requests.inc(request);
    this.requestDuration.observe(request, r.durationSeconds);
    if (r.upstreamSeconds !== undefined) this.upstreamDuration.observe(backend, r.upstreamSeconds);
    this.requestSize.observe(backend, r.requestBytes);
    this.responseSize.observe(backend, r.responseBytes);
  }

  /**
   * Removes every series of `requests_total`, `request_duration_seconds`,
   * `upstream_response_duration_seconds`, `request_size_bytes` and `response_size_bytes` whose
   * (namespace, ingress) is not in `live`, as ingress-nginx drops the series of a deleted Ingress. The
   * unmatched series (namespace '' and ingress '') always stay; an Ingress that comes back counts from zero.
   * Call it with the Ingresses of each configuration applied.
   *
   * `live` is read before this returns; the removal is done once the promise settles, which is within the
   * same turn of the event loop (no I/O happens in between): a scrape that follows cannot see the series.
   * A request that started on the old configuration and ends after this call recreates its series; the
   * next call removes it again.
   */
  async retainIngresses(live: Iterable<IngressRef>): Promise<void> {
    // Namespace → Ingress names: `live` is every route (50,000 in a large cluster), and a key string per
    // route cost more than the rest of this method.
    const keep = new Map<string, Set<string>>();
    for (const l of live) {
      const names = keep.get(l.namespace);
      if (names === undefined) keep.set(l.namespace, new Set([l.ingress]));
      else names.add(l.ingress);
    }
    // requestEnded feeds all five metrics together, so the series of requests_total are every request label
    // set of request_duration_seconds, and their (namespace, ingress, service) every backend label set.
    // prom-client hands back the label objects it stored when each series was created: no copy per request.
    const { values } = await this.requests.get();
    for (const { labels } of values) {
      const namespace = String(labels.namespace ?? '');
      const ingress = String(labels.ingress ?? '');
      if (namespace === '' && ingress === '') continue;
      if (keep.get(namespace)?.has(ingress) === true) continue;
      this.requests.remove(labels);
      this.requestDuration.remove(labels);
      // Shared by several request label sets; removing a series that is already gone is a no-op.
      const backend = { namespace, ingress, service: String(labels.service ?? '') };
      this.upstreamDuration.remove(backend);
      this.requestSize.remove(backend);
      this.responseSize.remove(backend);
    }
    // Bound entries may be the ones just removed: the next request of each series binds afresh.
    this.series.clear();
  }

  /** One configuration reload attempt (a snapshot that did or did not become the active config). */
  reloaded(success: boolean): void {
    this.lastReloadSuccessful.set(success ? 1 : 0);
    this.reloads.inc({ result: success ? 'success' : 'failure' });
  }

  /**
   * Replaces every `upstream_endpoints` series: Services absent from `list` disappear. A Service listed
   * twice (one entry per port) keeps its last count. Only the series whose value changed are touched:
   * resetting and setting all 10,000 of a cluster cost more than the rest of an endpoints swap.
   */
  setUpstreamEndpoints(list: readonly UpstreamEndpointCount[]): void {
    const previous = this.upstreamCounts;
    const next = new Map<string, Map<string, number>>();
    for (const e of list) {
      let services = next.get(e.namespace);
      if (services === undefined) {
        services = new Map();
        next.set(e.namespace, services);
      }
      services.set(e.service, e.count);
    }
    for (const [namespace, services] of next) {
      const before = previous.get(namespace);
      for (const [service, count] of services) {
        if (before?.get(service) !== count) this.upstreamEndpoints.set({ namespace, service }, count);
      }
    }
    for (const [namespace, services] of previous) {
      const after = next.get(namespace);
      for (const service of services.keys()) {
        if (after?.has(service) !== true) this.upstreamEndpoints.remove({ namespace, service });
      }
    }
    this.upstreamCounts = next;
  }

  /**
   * Sets the `upstream_endpoints` series of the Services in `changes` (last count wins for a Service
   * listed twice); every other series stays: what an EndpointSlice change of a few Services needs.
   */
  updateUpstreamEndpoints(changes: readonly UpstreamEndpointCount[]): void {
    for (const { namespace, service, count } of changes) {
      let services = this.upstreamCounts.get(namespace);
      if (services === undefined) {
        services = new Map();
        this.upstreamCounts.set(namespace, services);
      }
      if (services.get(service) === count) continue;
      services.set(service, count);
      this.upstreamEndpoints.set({ namespace, service }, count);
    }
  }

  /** Replaces every `ssl_expire_time_seconds` series: certificates absent from `list` disappear. */
  setCertificateExpiry(list: readonly CertificateExpiry[]): void {
    this.sslExpire.reset();
    for (const c of list) {
      this.sslExpire.set({ namespace: c.namespace, secret_name: c.secretName, host: c.host }, c.notAfter);
    }
  }

  /**
   * Replaces every `unhonoured_annotations` series with `counts` (annotation name without the
   * `nginx.ingress.kubernetes.io/` prefix → Ingresses carrying it; translate's `unhonouredAnnotations`):
   * names that dropped to zero disappear. A name `known` does not hold (pass translate's
   * KNOWN_ANNOTATIONS) counts as `unknown`: annotations are written by whoever writes Ingresses, and
   * label values must stay a bounded set.
   */
  /**
   * Replaces every `config_diagnostics` series. `kind` is one of the kinds the gateway reads ('' for a
   * problem with no object, `other` for anything else), so the label set stays bounded.
   */
  setDiagnostics(list: Iterable<{ kind?: string | undefined; severity: 'error' | 'warning' }>): void {
    const counts = new Map<string, { kind: string; severity: string; n: number }>();
    for (const d of list) {
      const kind = d.kind === undefined ? '' : DIAGNOSTIC_KINDS.has(d.kind) ? d.kind : 'other';
      const id = `${kind}\u0000${d.severity}`;
      const entry = counts.get(id);
      if (entry === undefined) counts.set(id, { kind, severity: d.severity, n: 1 });
      else entry.n++;
    }
    this.diagnostics.reset();
    for (const { kind, severity, n } of counts.values()) this.diagnostics.set({ kind, severity }, n);
  }

  setUnhonouredAnnotations(counts: ReadonlyMap<string, number>, known: { has(name: string): boolean }): void {
    const bounded = new Map<string, number>();
    for (const [name, count] of counts) {
      const label = known.has(name) ? name : UNKNOWN_ANNOTATION;
      bounded.set(label, (bounded.get(label) ?? 0) + count);
    }
    this.unhonouredAnnotations.reset();
    for (const [annotation, count] of bounded) {
      if (count > 0) this.unhonouredAnnotations.set({ annotation }, count);
    }
  }

  connectionOpened(scheme: Scheme): void {
    this.activeConnections.inc({ scheme });
  }

  connectionClosed(scheme: Scheme): void {
    this.activeConnections.dec({ scheme });
  }

  /** The Prometheus text exposition of every metric, for `GET /metrics`. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** This process's metrics as data, for the primary to aggregate (`renderAggregate`). */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  /**
   * The exposition of several processes' metrics as one: the primary's (`this`, scope `configuration`)
   * and its workers' (scope `traffic`). Counters, histograms and gauges of the same series are summed
   * (active connections over workers; process CPU and memory over every process); a configuration metric
   * exists in the primary only, so it is reported once; for the few default metrics whose sum means
   * nothing (start time, fd limit, version) the primary's value is taken.
   */
  async renderAggregate(workers: readonly MetricsSnapshot[]): Promise<{ contentType: string; body: string }> {
    const all = [await this.snapshot(), ...workers].map((metrics) =>
      metrics.map((m) => (FIRST_OF_PROCESSES.has(m.name) ? { ...m, aggregator: 'first' as const } : m)),
    );
    const registry = AggregatorRegistry.aggregate(all);
    return { contentType: this.registry.contentType, body: await registry.metrics() };
  }
}
