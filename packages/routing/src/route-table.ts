// Ingress v1 host and path semantics, compiled once into maps and radix trees and looked up per request.
// Spec: https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types and
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/#IngressRule
import { ObjectMemo } from './object-memo.js';
import { PrefixTree } from './prefix-tree.js';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface RouteRule<T> {
  /** '' (any host), an exact host `foo.example.com`, or a one-label wildcard `*.example.com`; lowercase. */
  readonly host: string;
  /**
   * Compared as given, element-wise on `/`: it should be what Kubernetes validation accepts (absolute, no
   * `//`, `/./`, `/../`, `%2F`), else no normalised request path can match it.
   */
  readonly path: string;
  /** `ImplementationSpecific` is treated as `Prefix` (ingress-nginx without the regex annotation). */
  readonly pathType: PathType;
  /** Must not be `undefined` (that value means "no match"). */
  readonly target: T;
}

export interface RouteTableInput<T> {
  /** On a duplicate (same host, path and type) the first rule given wins: callers sort by precedence. */
  readonly rules: readonly RouteRule<T>[];
  /**
   * Per-host fallbacks: the defaultBackend of the Ingress that owns the host (exact or wildcard; first
   * given wins). A host listed here owns its requests even without rules: it never falls back to ''.
   */
  readonly hostDefaults?: ReadonlyArray<{ readonly host: string; readonly target: T }>;
  /** The catch-all (an Ingress with only `spec.defaultBackend`). */
  readonly catchAll?: T;
}

export interface RouteTable<T> {
  /** host: normalised (lowercase, no port); path: normalised (see normalizePath). */
  match(host: string, path: string): T | undefined;
}

/**
 * A rule that can never be chosen because an earlier rule (`by`) has the same host and matches the same
 * requests with the same precedence. `duplicate`: same host, path and pathType (what Kubernetes calls a
 * conflict). `equivalent`: different spelling, same meaning (Prefix `/foo` and `/foo/`; Prefix and
 * ImplementationSpecific on the same path).
 */
export interface ShadowedRule<R> {
  readonly rule: R;
  readonly index: number;
  readonly by: R;
  readonly byIndex: number;
  readonly reason: 'duplicate' | 'equivalent';
}

export interface CompiledRouteTable<T> extends RouteTable<T> {
  /** The rules that lost to an earlier one, in input order (same as `findShadowedRules(input.rules)`). */
  readonly shadowed: readonly ShadowedRule<RouteRule<T>>[];
}

/** What conflicts are settled on: a rule without its target (translate passes its path candidates). */
export type RuleKey = Pick<RouteRule<unknown>, 'host' | 'path' | 'pathType'>;

interface HostRoutes<T> {
  /** Never changed once the table is compiled; may be shared with tables compiled before (`reuse`). */
  exact: Map<string, T>;
  prefix: PrefixTree<T>;
  fallback: T | undefined;
}

/** The paths of one host as built from one run of rules, kept for the next compile (`reuse`). */
interface HostPaths<T> {
  readonly rules: readonly RouteRule<T>[];
  readonly exact: Map<string, T>;
  readonly prefix: PrefixTree<T>;
}

/** By the first rule of the run: a run of the same rule objects gets the same paths again. */
const RUNS = new ObjectMemo<object, HostPaths<unknown>>('host paths of a run');

export interface CompileOptions {
  /**
   * Reuse the paths of a host whose rules are the same objects, in the same order, as at an earlier
   * compile (translate keeps a rule object while nothing it reads changes): a rebuild after one change
   * then builds the trees of that host only. Off for rules that are new objects each time (a worker's,
   * deserialized), where it could only cost.
   */
  readonly reuse?: boolean;
}

function sameRun<T>(
  known: readonly RouteRule<T>[],
  rules: readonly RouteRule<T>[],
  start: number,
  end: number,
) {
  if (known.length !== end - start) return false;
  for (let i = 0; i < known.length; i++) if (known[i] !== rules[start + i]) return false;
  return true;
}

/** `*.example.com` → `example.com`; anything else is not a wildcard. */
function wildcardParent(host: string): string | undefined {
  return host.startsWith('*.') ? host.slice(2) : undefined;
}

/** The key under which a Prefix path is stored: one trailing slash ignored (`/foo/` → `/foo`, `/` → ''). */
function prefixKey(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

/** See `ShadowedRule`. Hosts are compared case-insensitively. */
export function findShadowedRules<R extends RuleKey>(rules: readonly R[]): ShadowedRule<R>[] {
  // Host → match key (the Exact path, or the Prefix key) → first rule: nested maps rather than one key
  // string per rule, which was built and hashed for each of 50,000 rules on every compile.
  const firstExact = new Map<string, Map<string, number>>();
  const firstPrefix = new Map<string, Map<string, number>>();
  const shadowed: ShadowedRule<R>[] = [];
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index]!;
    const host = rule.host.toLowerCase();
    const exact = rule.pathType === 'Exact';
    const byHost = exact ? firstExact : firstPrefix;
    let first = byHost.get(host);
    if (first === undefined) {
      first = new Map();
      byHost.set(host, first);
    }
    const key = exact ? rule.path : prefixKey(rule.path);
    const byIndex = first.get(key);
    if (byIndex === undefined) {
      first.set(key, index);
      continue;
    }
    const by = rules[byIndex]!;
    const same = by.path === rule.path && by.pathType === rule.pathType;
    shadowed.push({ rule, index, by, byIndex, reason: same ? 'duplicate' : 'equivalent' });
  }
  return shadowed;
}

/**
 * Compiles rules into a table whose `match` does map lookups and one radix-tree walk, with no regex.
 *
 * Host selection: an exact host (with rules or a host default) beats a one-label wildcard, which beats
 * the rules without a host. Within the chosen host the longest matching path wins (in path elements); on
 * a tie Exact beats Prefix. No path matches: the host's default, else `catchAll`, else `undefined`.
 */
export function compileRoutes<T>(
  input: RouteTableInput<T>,
  options: CompileOptions = {},
): CompiledRouteTable<T> {
  const exactHosts = new Map<string, HostRoutes<T>>();
  const wildcardHosts = new Map<string, HostRoutes<T>>();
  let anyHost: HostRoutes<T> | undefined;
  /** The map and key a rule host is filed under ('' : the rules without host). */
  const placeOf = (rawHost: string): [Map<string, HostRoutes<T>> | undefined, string] => {
    const host = rawHost.toLowerCase();
    if (host === '') return [undefined, ''];
    const parent = wildcardParent(host);
    return parent === undefined ? [exactHosts, host] : [wildcardHosts, parent];
  };
  const findHost = (rawHost: string): HostRoutes<T> | undefined => {
    const [map, key] = placeOf(rawHost);
    return map === undefined ? anyHost : map.get(key);
  };
  const addHost = (rawHost: string, exact: Map<string, T>, prefix: PrefixTree<T>): HostRoutes<T> => {
    const routes: HostRoutes<T> = { exact, prefix, fallback: undefined };
    const [map, key] = placeOf(rawHost);
    if (map === undefined) anyHost = routes;
    else map.set(key, routes);
    return routes;
  };
  const insert = (routes: HostRoutes<T>, start: number, end: number): void => {
    for (let i = start; i < end; i++) {
      const rule = rules[i]!;
      if (rule.pathType === 'Exact') {
        if (!routes.exact.has(rule.path)) routes.exact.set(rule.path, rule.target);
      } else {
        routes.prefix.insert(prefixKey(rule.path), rule.target);
      }
    }
  };

  // Rules come grouped by Ingress, so a host's rules are mostly one run: handled a run at a time.
  // Indexed: compiled once per rebuild, mostly before V8 optimises it (no iterator result per rule).
  const rules = input.rules;
  const reuse = options.reuse === true;
  /** Hosts built from one run of this input so far: where the run is; `borrowed`, paths reused. */
  const single = new Map<HostRoutes<T>, { start: number; end: number; borrowed: boolean }>();
  for (let start = 0; start < rules.length; ) {
    const host = rules[start]!.host;
    let end = start + 1;
    while (end < rules.length && rules[end]!.host === host) end++;
    let routes = findHost(host);
    if (routes === undefined) {
      const known = reuse ? (RUNS.get(rules[start]!) as HostPaths<T> | undefined) : undefined;
      if (known !== undefined && sameRun(known.rules, rules, start, end)) {
        routes = addHost(host, known.exact, known.prefix);
        single.set(routes, { start, end, borrowed: true });
      } else {
        routes = addHost(host, new Map(), new PrefixTree());
        insert(routes, start, end);
        if (reuse) single.set(routes, { start, end, borrowed: false });
      }
    } else {
      const first = single.get(routes);
      if (first !== undefined) {
        // A second run of the host: its paths are this table's alone from now on (and not kept).
        single.delete(routes);
        if (first.borrowed) {
          routes.exact = new Map();
          routes.prefix = new PrefixTree();
          insert(routes, first.start, first.end);
        }
      }
      insert(routes, start, end);
    }
    start = end;
  }
  for (const [routes, run] of single) {
    if (run.borrowed) continue;
    const paths: HostPaths<T> = {
      rules: rules.slice(run.start, run.end),
      exact: routes.exact,
      prefix: routes.prefix,
    };
    RUNS.set(rules[run.start]!, paths);
  }
  let lastHost: string | undefined;
  let lastRoutes: HostRoutes<T> | undefined;
  const routesFor = (rawHost: string): HostRoutes<T> => {
    if (rawHost === lastHost) return lastRoutes!;
    lastRoutes = findHost(rawHost) ?? addHost(rawHost, new Map(), new PrefixTree());
    lastHost = rawHost;
    return lastRoutes;
  };
  for (const { host, target } of input.hostDefaults ?? []) {
    const routes = routesFor(host);
    if (routes.fallback === undefined) routes.fallback = target;
  }

  const catchAll = input.catchAll;
  const hasWildcards = wildcardHosts.size > 0;
  // Computed on first use: translate settles conflicts before it compiles, and the gateway never reads it.
  let shadowed: readonly ShadowedRule<RouteRule<T>>[] | undefined;

  return {
    get shadowed(): readonly ShadowedRule<RouteRule<T>>[] {
      shadowed ??= findShadowedRules(input.rules);
      return shadowed;
    },
    match(host: string, path: string): T | undefined {
      let routes = exactHosts.get(host);
      if (routes === undefined && hasWildcards) {
        // One label only: `*.example.com` takes `foo.example.com`, not `example.com` or `a.b.example.com`.
        const dot = host.indexOf('.');
        if (dot > 0) routes = wildcardHosts.get(host.slice(dot + 1));
      }
      routes ??= anyHost;
      if (routes === undefined) return catchAll;
      // An Exact hit always wins: a Prefix can match at most as many elements, and a tie goes to Exact.
      const exact = routes.exact.get(path);
      if (exact !== undefined) return exact;
      const prefix = routes.prefix.longestMatch(path);
      if (prefix !== undefined) return prefix;
      return routes.fallback !== undefined ? routes.fallback : catchAll;
    },
  };
}
