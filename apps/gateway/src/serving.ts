// The data plane of one process, with what it needs beside it: the endpoint picker, the certificate
// store, the traffic metrics and the access log. One process alone runs one; with `--workers N` each
// worker runs one and the primary none.
import cluster from 'node:cluster';
import { EndpointPicker } from '@gateway/balancer';
import { DataPlane, type RequestRecord } from '@gateway/dataplane';
import type { GatewayMetrics } from '@gateway/metrics';
import type { CertificateStore, CertificateTables } from '@gateway/tls';
import type { EndpointTable, GatewayConfig, Route } from '@gateway/translate';
import type { Logger } from 'pino';
import { AccessLog, type LineSink } from './access-log.js';
import type { Flags } from './flags.js';

/** Where the apply step sends each configuration: this process's data plane, or the workers. */
export interface ConfigTarget {
  /**
   * Swaps in a whole configuration (`certificates`: its TLS bindings compiled by the caller). Returns
   * once it serves, or a promise of that (workers answer asynchronously).
   */
  setConfig(config: GatewayConfig, certificates: CertificateTables): undefined | Promise<void>;
  /** Swaps in new endpoints for the routes already served. */
  setEndpoints(endpoints: EndpointTable): undefined | Promise<void>;
}

/**
 * Listening sockets per port for a process serving alone (SO_REUSEPORT, see dataplane's acceptors.ts):
 * under load it then accepts up to this many connections per event-loop turn instead of one, which
 * took the worst latency of 256 simultaneous reconnects from 311-647 ms to 90-151 ms. Cluster workers
 * keep one: the primary accepts for them and hands each connection over.
 */
const ACCEPTORS_ALONE = 32;

export class LocalServing implements ConfigTarget {
  readonly dataPlane: DataPlane;
  readonly accessLog: AccessLog | undefined;
  private readonly picker: EndpointPicker;

  constructor(
    flags: Flags,
    readonly certificates: CertificateStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    sink: LineSink,
    /** This worker among its siblings (round robin takes turns with them); alone by default. */
    worker: { index: number; count: number } = { index: 0, count: 1 },
  ) {
    this.picker = new EndpointPicker({ worker });
    const accessLog = flags.accessLog ? new AccessLog(sink) : undefined;
    this.accessLog = accessLog;
    this.dataPlane = new DataPlane({
      host: flags.bindAddress,
      httpPort: flags.httpPort,
      httpsPort: flags.httpsPort,
      certificates,
      picker: this.picker,
      logger: log,
      connectTimeoutMs: flags.proxyConnectTimeout * 1000,
      readTimeoutMs: flags.proxyReadTimeout * 1000,
      sendTimeoutMs: flags.proxySendTimeout * 1000,
      nextUpstreamTries: flags.proxyNextUpstreamTries,
      nextUpstreamTimeoutMs: flags.proxyNextUpstreamTimeout * 1000,
      redirectHttpsPort: flags.redirectHttpsPort,
      refuseLocalExternalNames: flags.config === undefined,
      // A worker on node:cluster's round robin has the primary's one shared socket; on SO_REUSEPORT it
      // binds as a process serving alone does, in one group with its siblings.
      acceptors: cluster.isWorker && !flags.reusePort ? 1 : ACCEPTORS_ALONE,
      reusePortWithSiblings: cluster.isWorker && flags.reusePort,
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
            route: r.route,
          });
          accessLog?.write(r);
        },
        connectionOpened: (scheme) => metrics.connectionOpened(scheme),
        connectionClosed: (scheme) => metrics.connectionClosed(scheme),
      },
    });
  }

  setConfig(config: GatewayConfig, certificates: CertificateTables): undefined {
    this.dataPlane.setActive({ routes: config.routes, certificates }, config.endpoints);
    this.picker.retain(config.backends.keys());
    // Done before any I/O is handled: a scrape after this apply sees no series of a deleted Ingress.
    this.metrics.retainIngresses(routesOf(config)).catch((err: unknown) => {
      this.log.error({ err }, 'metrics: removing the series of deleted Ingresses failed');
    });
    return undefined;
  }

  setEndpoints(endpoints: EndpointTable): undefined {
    this.dataPlane.setEndpoints(endpoints);
    return undefined;
  }

  async close(timeoutMs: number): Promise<void> {
    await this.dataPlane.close(timeoutMs);
    this.accessLog?.flush();
  }
}

/** Every route of the configuration (rules, per-host defaults, the catch-all): each names its Ingress. */
export function* routesOf(config: Pick<GatewayConfig, 'rules'>): Generator<Route> {
  for (const rule of config.rules.rules) yield rule.target;
  for (const d of config.rules.hostDefaults ?? []) yield d.target;
  if (config.rules.catchAll !== undefined) yield config.rules.catchAll;
}
