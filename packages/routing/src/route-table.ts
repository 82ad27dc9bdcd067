// Contract of the routing package (implementation to follow in this file or beside it).
export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface RouteRule<T> {
  /** '' (any host), an exact host `foo.example.com`, or a one-label wildcard `*.example.com`; lowercase. */
  readonly host: string;
  readonly path: string;
  readonly pathType: PathType;
  readonly target: T;
}

export interface RouteTableInput<T> {
  /** On a duplicate (same host, path and type) the first rule given wins: callers sort by precedence. */
  readonly rules: readonly RouteRule<T>[];
  /** Per-host fallbacks: the defaultBackend of the Ingress that owns the host. */
  readonly hostDefaults?: ReadonlyArray<{ readonly host: string; readonly target: T }>;
  /** The catch-all (an Ingress with only `spec.defaultBackend`). */
  readonly catchAll?: T;
}

export interface RouteTable<T> {
  /** host: normalised (lowercase, no port); path: normalised (see normalizePath). */
  match(host: string, path: string): T | undefined;
}
