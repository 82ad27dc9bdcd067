// The compiled configuration: what translate() produces and the data plane serves.
// Everything here is immutable once built; a reload builds a new GatewayConfig and swaps one reference.
import type { RouteTable, RouteTableInput } from '@gateway/routing';

/** One address a backend can be reached at: a pod IP, or an ExternalName's DNS name or IP. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * A Service port as a target of routes. Its endpoints are not part of it: they live in the
 * `EndpointTable` under `key`, so an EndpointSlice change swaps that table and leaves routes alone.
 */
export interface Backend {
  /** `namespace/service:port` — stable across reloads, so balancer state keyed by it survives swaps. */
  readonly key: string;
  readonly namespace: string;
  readonly service: string;
  /**
   * The Service port's name ('' when unnamed): the endpoint port of the same name is used. Undefined for
   * ExternalName Services, whose one endpoint comes from the Service itself.
   */
  readonly portName: string | undefined;
  /** True for ExternalName Services: the endpoint address is a name resolved at connect time. */
  readonly external: boolean;
  /** The Service's `sessionAffinity: ClientIP`, with its timeout in seconds. */
  readonly affinity?: { readonly timeoutSeconds: number };
}

/** What a matched rule routes to, with everything the request path needs precomputed. */
export interface Route {
  /** Metric and log labels, from the rule — never from request data. */
  readonly namespace: string;
  readonly ingress: string;
  readonly service: string;
  /** The rule's host ('' for rules without host, `*.example.com` for a wildcard). */
  readonly host: string;
  /** The rule's path ('' for a defaultBackend). */
  readonly path: string;
  /** Undefined when the Service (or its port) does not exist: the request gets 503. */
  readonly backend: Backend | undefined;
  /** The host is listed in an Ingress `tls` section: plain HTTP is answered with a 308 to https. */
  readonly tlsRedirect: boolean;
}

/** A certificate and key from a `kubernetes.io/tls` Secret, bound to the hosts that name it. */
export interface TlsBinding {
  readonly namespace: string;
  readonly secretName: string;
  /** Hosts from the Ingress `tls[].hosts` entries naming this Secret (may include `*.` wildcards). */
  readonly hosts: readonly string[];
  readonly certPem: string;
  readonly keyPem: string;
  /** The certificate's notBefore and notAfter, unix seconds, so the data plane need not parse it again. */
  readonly notBefore?: number;
  readonly notAfter?: number;
}

/** Counts for logs and `--check` output. */
export interface TranslateSummary {
  /** Ingresses served (after the class filter) and ignored (another controller's class). */
  readonly ingresses: number;
  readonly ignoredIngresses: number;
  readonly rules: number;
  readonly hostDefaults: number;
  readonly catchAll: boolean;
  readonly backends: number;
  /** Ready endpoints over all backends. */
  readonly endpoints: number;
  readonly tlsBindings: number;
  readonly warnings: number;
  readonly errors: number;
}

/**
 * Ready endpoints by `Backend.key`; a backend without an entry (or with an empty one) answers 503. For
 * ExternalName: one endpoint with the DNS name.
 */
export type EndpointTable = ReadonlyMap<string, readonly Endpoint[]>;

export interface GatewayConfig {
  readonly routes: RouteTable<Route>;
  readonly backends: ReadonlyMap<string, Backend>;
  /** The endpoints of `backends` as of this translate; `refreshEndpoints` makes a newer one. */
  readonly endpoints: EndpointTable;
  readonly tls: readonly TlsBinding[];
  /** What `routes` was compiled from, in precedence order (shadowed rules left out). */
  readonly rules: RouteTableInput<Route>;
  readonly summary: TranslateSummary;
}
