// What the gateway publishes in `status.loadBalancer.ingress` of the Ingresses it serves: the addresses
// clients reach it on. As ingress-nginx: `--publish-status-address` verbatim, else what the
// `--publish-service` Service is reachable on (its load balancer, its external IPs, or, for a NodePort or
// ClusterIP Service, the nodes its ready pods run on). Calls: get services, list pods, get nodes.
import { isIP } from 'node:net';
import { type ApiClient, ApiError } from './api-client.js';
import { type Logger, SILENT } from './log.js';

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export type PublishSource =
  | { readonly addresses: readonly LoadBalancerIngress[] }
  | { readonly service: { readonly namespace: string; readonly name: string } };

/** An IP is published as `{ip}`, anything else as `{hostname}`. */
export function toLoadBalancerIngress(address: string): LoadBalancerIngress {
  return isIP(address) === 0 ? { hostname: address } : { ip: address };
}

/** `--publish-status-address`: a comma-separated list, as ingress-nginx reads it. */
export function parsePublishStatusAddress(flag: string): LoadBalancerIngress[] {
  return normaliseAddresses(
    flag
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '')
      .map(toLoadBalancerIngress),
  );
}

/** `--publish-service NS/NAME`. */
export function parsePublishService(flag: string): { namespace: string; name: string } {
  const parts = flag.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
    throw new Error(`--publish-service: expected NAMESPACE/NAME, got '${flag}'`);
  return { namespace: parts[0]!, name: parts[1]! };
}

/**
 * Only ip and hostname (what we write, and what status comparisons look at), without duplicates, in
 * ingress-nginx's order (by ip, so hostnames first), then by hostname: a stable value to compare.
 */
export function normaliseAddresses(list: Iterable<LoadBalancerIngress>): LoadBalancerIngress[] {
  const seen = new Map<string, LoadBalancerIngress>();
  for (const a of list) {
    const entry: LoadBalancerIngress = {};
    if (a.ip) entry.ip = a.ip;
    if (a.hostname) entry.hostname = a.hostname;
    if (entry.ip === undefined && entry.hostname === undefined) continue;
    seen.set(`${entry.ip ?? ''}\u0000${entry.hostname ?? ''}`, entry);
  }
  return [...seen.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, e]) => e);
}

export function sameAddresses(
  a: readonly LoadBalancerIngress[] | undefined,
  b: readonly LoadBalancerIngress[] | undefined,
): boolean {
  const x = normaliseAddresses(a ?? []);
  const y = normaliseAddresses(b ?? []);
  return x.length === y.length && x.every((e, i) => e.ip === y[i]!.ip && e.hostname === y[i]!.hostname);
}

export interface RawService {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    externalIPs?: string[];
    externalName?: string;
  };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

/** What a Service itself says it is reachable on; `'nodes'` when only its pods' nodes can tell. */
export function serviceAddresses(service: RawService): LoadBalancerIngress[] | 'nodes' {
  const lb = normaliseAddresses(service.status?.loadBalancer?.ingress ?? []);
  if (lb.length > 0) return lb;
  const external = service.spec?.externalIPs ?? [];
  if (external.length > 0) return normaliseAddresses(external.map(toLoadBalancerIngress));
  if (service.spec?.type === 'ExternalName' && service.spec.externalName)
    return [toLoadBalancerIngress(service.spec.externalName)];
  return 'nodes';
}

export interface RawPod {
  metadata?: { deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

/**
 * The nodes of the pods that serve traffic: Running, Ready and not being deleted, as ingress-nginx
 * counts them. A pod still starting or shutting down would publish a node that drops the traffic.
 */
export function servingNodes(pods: readonly RawPod[]): string[] {
  const nodes = new Set<string>();
  for (const p of pods) {
    if (p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp !== undefined) continue;
    if (!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    if (p.spec?.nodeName) nodes.add(p.spec.nodeName);
  }
  return [...nodes].sort();
}

export interface RawNode {
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** A node's ExternalIP, else its InternalIP (a cluster without external addresses). */
export function nodeAddress(node: RawNode): string | undefined {
  const addresses = node.status?.addresses ?? [];
  return (
    addresses.find((a) => a.type === 'ExternalIP' && a.address)?.address ??
    addresses.find((a) => a.type === 'InternalIP' && a.address)?.address
  );
}

/** `k=v,k2=v2` in key order; the API server's syntax for equality requirements. */
export function labelSelector(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/** Resolves the published addresses; on failure keeps the last ones known. */
export class PublishAddresses {
  private last: readonly LoadBalancerIngress[] | undefined;
  private lastProblem = '';

  constructor(
    private readonly api: ApiClient,
    private readonly source: PublishSource,
    private readonly log: Logger = SILENT,
  ) {
    if ('addresses' in source) this.last = normaliseAddresses(source.addresses);
  }

  /** The addresses last resolved; undefined while none ever were (then nothing is written). */
  current(): readonly LoadBalancerIngress[] | undefined {
    return this.last;
  }

  /** Resolves again; on an error logs it (once until it changes) and returns the last known. */
  async refresh(): Promise<readonly LoadBalancerIngress[] | undefined> {
    if ('addresses' in this.source) return this.last;
    try {
      this.last = await this.resolve(this.source.service.namespace, this.source.service.name);
      this.lastProblem = '';
    } catch (err) {
      this.problem(err);
    }
    return this.last;
  }

  private async resolve(namespace: string, name: string): Promise<LoadBalancerIngress[]> {
    const ns = encodeURIComponent(namespace);
    const service = await this.api.request<RawService>(
      'GET',
      `/api/v1/namespaces/${ns}/services/${encodeURIComponent(name)}`,
      `get services ${namespace}/${name}`,
    );
    const own = serviceAddresses(service);
    if (own !== 'nodes') return own;
    const selector = service.spec?.selector ?? {};
    // No selector: the Service's endpoints are managed by hand and no pod tells us a node.
    if (Object.keys(selector).length === 0) return [];
    const pods = await this.api.request<{ items?: RawPod[] }>(
      'GET',
      `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(labelSelector(selector))}`,
      `list pods in ${namespace}`,
    );
    const addresses: LoadBalancerIngress[] = [];
    for (const nodeName of servingNodes(pods.items ?? [])) {
      let node: RawNode;
      try {
        node = await this.api.request<RawNode>(
          'GET',
          `/api/v1/nodes/${encodeURIComponent(nodeName)}`,
          `get nodes ${nodeName}`,
        );
      } catch (err) {
        // Deleted since the pod list was read: its pods are going too.
        if (err instanceof ApiError && err.status === 404) continue;
        throw err;
      }
      const address = nodeAddress(node);
      if (address !== undefined) addresses.push(toLoadBalancerIngress(address));
    }
    return normaliseAddresses(addresses);
  }

  private problem(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    const status = err instanceof ApiError ? err.status : undefined;
    // An ApiError's message starts with the call ("get nodes node-1: 403 …"): the verb and resource
    // as fields too, like the informers' and the status writer's lines.
    const [verb, resource] = err instanceof ApiError ? message.split(' ', 2) : [];
    const fields = { verb, resource, status, keeping: this.last ?? null };
    const line = `publish address: ${message}; keeping the last known addresses`;
    if (status === 0 || (status !== undefined && status >= 500)) this.log.warn(fields, line);
    else this.log.error(fields, line);
  }
}
