// Command-line flags: the contract of ../../../shared/design.md ("CLI"). Parsed once at start.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

export interface Flags {
  config?: string;
  kubernetes: boolean;
  kubeconfig?: string;
  watchNamespace?: string;
  controllerName: string;
  publishService?: string;
  publishStatusAddress?: string;
  electionId: string;
  electionLeaseDuration: number;
  ingressClass?: string;
  bindAddress: string;
  httpPort: number;
  httpsPort: number;
  metricsPort: number;
  proxyConnectTimeout: number;
  proxyReadTimeout: number;
  proxySendTimeout: number;
  proxyNextUpstreamTries: number;
  proxyNextUpstreamTimeout: number;
  redirectHttpsPort: number;
  shutdownTimeout: number;
  /** Data-plane processes sharing the ports; 1: one process does everything. */
  workers: number;
  /** Workers listen with their own SO_REUSEPORT sockets (else the primary hands them connections in turn). */
  reusePort: boolean;
  accessLog: boolean;
  serveUnhonouredAccessAnnotations: boolean;
  check: boolean;
  help: boolean;
}

export const HELP = `Usage: ingress-gateway --config PATH [options]
       ingress-gateway --kubernetes | --kubeconfig PATH [options]

A Kubernetes ingress gateway: serves networking.k8s.io/v1 Ingresses, Services, EndpointSlices and TLS
Secrets as one HTTP/HTTPS entry point.

Source (one of):
  --config PATH                  YAML file (multi-document) or directory of manifests; watched
  --kubernetes                   cluster mode with the in-cluster service account
  --kubeconfig PATH              cluster mode with a kubeconfig file

Cluster mode:
  --watch-namespace NS           namespace to watch (default: all)
  --controller-name NAME         IngressClass spec.controller we own (default: k8s.io/ingress-gateway)
  --publish-service NS/NAME      Service whose address goes into Ingress status
  --publish-status-address ADDR  address(es), comma-separated, that go into Ingress status
  --election-id NAME             Lease (in the gateway's namespace) whose holder alone writes Ingress
                                 status (default: ingress-gateway-leader)
  --election-lease-duration S    how long a dead leader holds the Lease before another replica takes
                                 over, seconds (default: 15)

Serving:
  --ingress-class NAME           serve only Ingresses of this class (spec.ingressClassName or the
                                 kubernetes.io/ingress.class annotation)
  --bind-address ADDR            address to listen on (default: 0.0.0.0)
  --http-port N                  plain HTTP port (default: 8080)
  --https-port N                 HTTPS port (default: 8443)
  --metrics-port N               /metrics, /healthz, /readyz (default: 10254)
  --proxy-connect-timeout S      upstream connect timeout, seconds (default: 5)
  --proxy-read-timeout S         upstream read timeout, seconds (default: 60)
  --proxy-send-timeout S         upstream send timeout, seconds (default: 60)
  --proxy-next-upstream-tries N  tries per request when upstream connections fail, the first one
                                 included, each on another endpoint; 0: no limit (default: 3)
  --proxy-next-upstream-timeout S
                                 no further try starts S seconds after the first; 0: no limit
                                 (default: 0)
  --redirect-https-port N        port put into 308 redirects to https, omitted when 443 (default: 443)
  --shutdown-timeout S           how long SIGTERM waits for in-flight requests (default: 30)
  --workers N                    data-plane processes sharing the ports; 1 serves from the one
                                 process (default: the available cores, a container's CPU limit
                                 included, here ${availableCores()})
  --reuse-port                   workers listen each with their own SO_REUSEPORT sockets, and the
                                 kernel spreads connections over them, instead of the primary
                                 accepting them all and handing them out in turn (default): far
                                 cheaper for a connection per request, but round robin is then per
                                 worker, not over all requests (ingress-nginx's reuse-port)
  --no-access-log                no access-log line per request
  --serve-unhonoured-access-annotations
                                 serve Ingresses whose access-restricting ingress-nginx annotations
                                 (auth-*, *-source-range, enable-global-auth) are not implemented,
                                 WITHOUT the restriction (default: they answer 503)

  --check                        validate the configuration, print diagnostics, exit 0 or 2
  --help                         this text

Exit codes: 0 clean shutdown or valid --check; 2 invalid flags or configuration.
`;

export class FlagError extends Error {}

/** Exit code of invalid flags or an invalid configuration. */
export const EXIT_INVALID = 2;

const OPTIONS = {
  config: { type: 'string' },
  kubernetes: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  'watch-namespace': { type: 'string' },
  'controller-name': { type: 'string' },
  'publish-service': { type: 'string' },
  'publish-status-address': { type: 'string' },
  'election-id': { type: 'string' },
  'election-lease-duration': { type: 'string' },
  'ingress-class': { type: 'string' },
  'bind-address': { type: 'string' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  'metrics-port': { type: 'string' },
  'proxy-connect-timeout': { type: 'string' },
  'proxy-read-timeout': { type: 'string' },
  'proxy-send-timeout': { type: 'string' },
  'proxy-next-upstream-tries': { type: 'string' },
  'proxy-next-upstream-timeout': { type: 'string' },
  'redirect-https-port': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  workers: { type: 'string' },
  'reuse-port': { type: 'boolean' },
  'no-access-log': { type: 'boolean' },
  'serve-unhonoured-access-annotations': { type: 'boolean' },
  check: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535)
    throw new FlagError(`--${name}: "${raw}" is not a port number (0-65535)`);
  return n;
}

function seconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new FlagError(`--${name}: "${raw}" is not a positive number of seconds`);
  }
  return n;
}

/** A count where 0 means no limit (nginx's `proxy_next_upstream_tries`). */
function count(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new FlagError(`--${name}: "${raw}" is not a whole number (0: no limit)`);
  return Number(raw);
}

/** Seconds where 0 means no limit (nginx's `proxy_next_upstream_timeout`). */
function limitSeconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new FlagError(`--${name}: "${raw}" is not a number of seconds (0: no limit)`);
  }
  return n;
}

/**
 * The CPU limit of this process's cgroup, in cores (rounded up), or undefined when there is none: v2
 * `cpu.max` ("QUOTA PERIOD" or "max PERIOD"), else v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`. A pod
 * limited to 1 CPU on a 64-core node sees 64 CPUs; 64 workers there would be throttled to one core's
 * time and take 64 times the memory.
 */
export function cgroupCpuLimit(
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): number | undefined {
  const cores = (quota: number, period: number): number | undefined =>
    Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0
      ? Math.max(1, Math.ceil(quota / period))
      : undefined;
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    return quota === 'max' ? undefined : cores(Number(quota), Number(period));
  } catch {
    // not cgroup v2
  }
  try {
    return cores(
      Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim()),
      Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim()),
    );
  } catch {
    return undefined;
  }
}

/** The cores this process may use: its CPU affinity (Node's availableParallelism), capped by a cgroup limit. */
export function availableCores(): number {
  return Math.min(availableParallelism(), cgroupCpuLimit() ?? Number.POSITIVE_INFINITY);
}

/** At most 256: a count of processes, not of requests. */
function workerCount(raw: string | undefined): number {
  if (raw === undefined) return availableCores();
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 256) {
    throw new FlagError(`--workers: "${raw}" is not a number of processes (1-256)`);
  }
  return n;
}

export function parseFlags(argv: readonly string[]): Flags {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  const flags: Flags = {
    config: values.config,
    kubernetes: values.kubernetes ?? false,
    kubeconfig: values.kubeconfig,
    watchNamespace: values['watch-namespace'],
    controllerName: values['controller-name'] ?? 'k8s.io/ingress-gateway',
    publishService: values['publish-service'],
    publishStatusAddress: values['publish-status-address'],
    electionId: values['election-id'] ?? 'ingress-gateway-leader',
    electionLeaseDuration: seconds('election-lease-duration', values['election-lease-duration'], 15),
    ingressClass: values['ingress-class'],
    bindAddress: values['bind-address'] ?? '0.0.0.0',
    httpPort: port('http-port', values['http-port'], 8080),
    httpsPort: port('https-port', values['https-port'], 8443),
    metricsPort: port('metrics-port', values['metrics-port'], 10254),
    proxyConnectTimeout: seconds('proxy-connect-timeout', values['proxy-connect-timeout'], 5),
    proxyReadTimeout: seconds('proxy-read-timeout', values['proxy-read-timeout'], 60),
    proxySendTimeout: seconds('proxy-send-timeout', values['proxy-send-timeout'], 60),
    proxyNextUpstreamTries: count('proxy-next-upstream-tries', values['proxy-next-upstream-tries'], 3),
    proxyNextUpstreamTimeout: limitSeconds(
      'proxy-next-upstream-timeout',
      values['proxy-next-upstream-timeout'],
      0,
    ),
    redirectHttpsPort: port('redirect-https-port', values['redirect-https-port'], 443),
    shutdownTimeout: seconds('shutdown-timeout', values['shutdown-timeout'], 30),
    workers: workerCount(values.workers),
    reusePort: values['reuse-port'] ?? false,
    accessLog: !values['no-access-log'],
    serveUnhonouredAccessAnnotations: values['serve-unhonoured-access-annotations'] ?? false,
    check: values.check ?? false,
    help: values.help ?? false,
  };
  if (flags.help) return flags;
  const sources = [flags.config !== undefined, flags.kubernetes, flags.kubeconfig !== undefined].filter(
    Boolean,
  );
  if (sources.length !== 1)
    throw new FlagError('exactly one of --config, --kubernetes or --kubeconfig is required');
  if (flags.publishService !== undefined && !/^[^/]+\/[^/]+$/.test(flags.publishService)) {
    throw new FlagError(`--publish-service: "${flags.publishService}" is not NAMESPACE/NAME`);
  }
  return flags;
}
