// A whole configuration as the workers receive it: its 50,000 rules and routes as columns of numbers
// over one table of strings, not as 100,000 objects for v8.serialize. A worker took 210-234 ms to
// deserialize the objects (12 MB, 10,000 Ingresses), most of its start; v8.deserialize builds each object
// property by property, while the columns become objects of one shape each, made here in a loop. Shared
// objects stay shared (a Backend routes point at is the one in `backends`), as structured clone kept them.
import type { RouteRule, RouteTableInput } from '@gateway/routing';
import type { Backend, Endpoint, Route } from '@gateway/translate';
import type { ConfigPayload } from './worker-protocol.js';

/** What crosses: v8.serialize handles arrays of numbers and strings quickly. */
export interface PackedPayload {
  readonly strings: string[];
  /** Per backend: key, namespace, service, portName (-1: none), external (0/1), affinity timeout (-1: none). */
  readonly backends: number[];
  /** Per route: namespace, ingress, service, host, path (strings), backend (-1: none), tlsRedirect (0/1). */
  readonly routes: number[];
  /** Per rule: host, path, pathType (strings), route. */
  readonly rules: number[];
  /** Per host default: host (string), route. */
  readonly hostDefaults: number[];
  /** The catch-all's route, -1 for none. */
  readonly catchAll: number;
  /** Per entry of `backends`: key (string), backend. */
  readonly backendMap: number[];
  /** Per entry of `endpoints`: key (string), count, then count × (address (string), port). */
  readonly endpoints: number[];
  readonly tls: ConfigPayload['tls'];
  readonly summary: ConfigPayload['summary'];
}

const BACKEND_FIELDS = 6;
const ROUTE_FIELDS = 7;
const RULE_FIELDS = 4;

export function packPayload(payload: ConfigPayload): PackedPayload {
  const strings: string[] = [];
  const s = indexer((value: string) => strings.push(value));
  const backends: number[] = [];
  const backendIndex = indexer((backend: Backend) =>
    backends.push(
      s(backend.key),
      s(backend.namespace),
      s(backend.service),
      backend.portName === undefined ? -1 : s(backend.portName),
      backend.external ? 1 : 0,
      backend.affinity === undefined ? -1 : backend.affinity.timeoutSeconds,
    ),
  );
  const b = (backend: Backend | undefined): number => (backend === undefined ? -1 : backendIndex(backend));
  // The routes of one Ingress come one after the other and share most strings: the last ones are
  // checked before the table (a lookup for each of 400,000 strings was most of the packing).
  const namespaceOf = lastOne(s);
  const ingressOf = lastOne(s);
  const serviceOf = lastOne(s);
  const hostOf = lastOne(s);
  const backendOf = lastOne(b);
  const routes: number[] = [];
  const r = indexer((route: Route) =>
    routes.push(
      namespaceOf(route.namespace),
      ingressOf(route.ingress),
      serviceOf(route.service),
      hostOf(route.host),
      s(route.path),
      backendOf(route.backend),
      route.tlsRedirect ? 1 : 0,
    ),
  );
  const pathType = lastOne(s);
  const input = payload.rules;
  const rules: number[] = [];
  for (const rule of input.rules) {
    const route = r(rule.target);
    // A rule's host and path are its route's (translate makes them so): their indexes are there.
    const at = route * ROUTE_FIELDS;
    const host = rule.host === strings[routes[at + 3]!] ? routes[at + 3]! : s(rule.host);
    const path = rule.path === strings[routes[at + 4]!] ? routes[at + 4]! : s(rule.path);
    rules.push(host, path, pathType(rule.pathType), route);
  }
  const hostDefaults: number[] = [];
  for (const entry of input.hostDefaults ?? []) hostDefaults.push(s(entry.host), r(entry.target));
  const catchAll = input.catchAll === undefined ? -1 : r(input.catchAll);
  const backendMap: number[] = [];
  for (const [key, backend] of payload.backends) backendMap.push(s(key), b(backend));
  const endpoints: number[] = [];
  for (const [key, list] of payload.endpoints) {
    endpoints.push(s(key), list.length);
    for (const e of list) endpoints.push(s(e.address), e.port);
  }
  return {
    strings,
    backends,
    routes,
    rules,
    hostDefaults,
    catchAll,
    backendMap,
    endpoints,
    tls: payload.tls,
    summary: payload.summary,
  };
}

/**
 * Numbers values 0, 1, 2… in the order first seen: a value seen before gets its number again; a new one
 * gets the next and is written (once) by `write`.
 */
function indexer<V>(write: (value: V) => unknown): (value: V) => number {
  const numbers = new Map<V, number>();
  return (value) => {
    let i = numbers.get(value);
    if (i === undefined) {
      i = numbers.size;
      numbers.set(value, i);
      write(value);
    }
    return i;
  };
}

/** `index`, asked again only when the value differs from the one asked last. */
function lastOne<V>(index: (value: V) => number): (value: V) => number {
  let last: V | undefined;
  let lastIndex = -1;
  return (value) => {
    if (lastIndex === -1 || value !== last) {
      last = value;
      lastIndex = index(value);
    }
    return lastIndex;
  };
}

export function unpackPayload(packed: PackedPayload): ConfigPayload {
  const { strings } = packed;
  const backends: Backend[] = [];
  const bs = packed.backends;
  for (let i = 0; i < bs.length; i += BACKEND_FIELDS) {
    const portName = bs[i + 3]!;
    const timeout = bs[i + 5]!;
    const backend: Backend = {
      key: strings[bs[i]!]!,
      namespace: strings[bs[i + 1]!]!,
      service: strings[bs[i + 2]!]!,
      portName: portName === -1 ? undefined : strings[portName]!,
      external: bs[i + 4] === 1,
      ...(timeout === -1 ? {} : { affinity: { timeoutSeconds: timeout } }),
    };
    backends.push(backend);
  }
  const routes: Route[] = [];
  const rs = packed.routes;
  for (let i = 0; i < rs.length; i += ROUTE_FIELDS) {
    const backend = rs[i + 5]!;
    routes.push({
      namespace: strings[rs[i]!]!,
      ingress: strings[rs[i + 1]!]!,
      service: strings[rs[i + 2]!]!,
      host: strings[rs[i + 3]!]!,
      path: strings[rs[i + 4]!]!,
      backend: backend === -1 ? undefined : backends[backend],
      tlsRedirect: rs[i + 6] === 1,
    });
  }
  const rules: RouteRule<Route>[] = [];
  const ru = packed.rules;
  for (let i = 0; i < ru.length; i += RULE_FIELDS) {
    rules.push({
      host: strings[ru[i]!]!,
      path: strings[ru[i + 1]!]!,
      pathType: strings[ru[i + 2]!]! as RouteRule<Route>['pathType'],
      target: routes[ru[i + 3]!]!,
    });
  }
  const hostDefaults: Array<{ host: string; target: Route }> = [];
  const hd = packed.hostDefaults;
  for (let i = 0; i < hd.length; i += 2)
    hostDefaults.push({ host: strings[hd[i]!]!, target: routes[hd[i + 1]!]! });
  const input: RouteTableInput<Route> = {
    rules,
    hostDefaults,
    ...(packed.catchAll === -1 ? {} : { catchAll: routes[packed.catchAll]! }),
  };
  const backendMap = new Map<string, Backend>();
  const bm = packed.backendMap;
  for (let i = 0; i < bm.length; i += 2) backendMap.set(strings[bm[i]!]!, backends[bm[i + 1]!]!);
  const endpoints = new Map<string, readonly Endpoint[]>();
  const ep = packed.endpoints;
  for (let i = 0; i < ep.length; ) {
    const key = strings[ep[i]!]!;
    const count = ep[i + 1]!;
    i += 2;
    const list: Endpoint[] = [];
    for (let k = 0; k < count; k++, i += 2) list.push({ address: strings[ep[i]!]!, port: ep[i + 1]! });
    endpoints.set(key, list);
  }
  return { rules: input, backends: backendMap, endpoints, tls: packed.tls, summary: packed.summary };
}
