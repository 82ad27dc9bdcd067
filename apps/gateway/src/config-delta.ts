// A configuration sent to the workers as what changed since the one before. translate keeps a rule
// object while nothing it reads changed (ingress-paths.ts), so after one Ingress changes all but a few
// of 50,000 rules are the objects of the last configuration: they cross as runs of the previous rules
// array, and the worker rebuilds the array from the objects it already holds. Same objects, so its
// compileRoutes reuses the paths of every host that did not change (routing's `reuse`), as the serving
// process itself does; and 12 MB serialized, read and deserialized by every worker become a few KB.

import type { RouteRule } from '@gateway/routing';
import type { Backend, EndpointTable, Route } from '@gateway/translate';
import { type ConfigPayload, type EndpointChanges, endpointChanges, withChanges } from './worker-protocol.js';

/** `count` rules of the base payload from index `from`, or rules that are new. */
export type RuleSegment =
  | { readonly from: number; readonly count: number }
  | { readonly rules: RouteRule<Route>[] };

export interface ConfigDelta {
  /** The `config` swap (its seq) whose payload this builds on. */
  readonly base: number;
  readonly rules: readonly RuleSegment[];
  /** Backends set (or deleted: undefined) since the base. */
  readonly backends: [string, Backend | undefined][];
  /** Endpoint entries set since the endpoints table the workers hold (the base's, with later changes). */
  readonly endpoints: EndpointChanges;
  /** Small, and whole: the host defaults, the catch-all, the TLS bindings and the summary. */
  readonly rest: {
    readonly input: Omit<ConfigPayload['rules'], 'rules'>;
    readonly tls: ConfigPayload['tls'];
    readonly summary: ConfigPayload['summary'];
  };
}

/** Above this share of new rules the whole configuration is sent: it would be most of it anyway. */
const MAX_NEW_SHARE = 0.5;

/**
 * `next` as changes to `base` (swap `baseSeq`), or undefined when most of it is new. `held`: the
 * endpoints table the workers hold now (the base's, with the endpoint changes sent since).
 */
export function configDelta(
  base: ConfigPayload,
  baseSeq: number,
  held: EndpointTable,
  next: ConfigPayload,
): ConfigDelta | undefined {
  const previous = base.rules.rules;
  const rules = next.rules.rules;
  const index = new Map<RouteRule<Route>, number>();
  for (let i = 0; i < previous.length; i++) index.set(previous[i]!, i);
  const segments: RuleSegment[] = [];
  let fresh = 0;
  let copy: { from: number; count: number } | undefined;
  let added: RouteRule<Route>[] | undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const at = index.get(rule);
    if (at === undefined) {
      copy = undefined;
      if (added === undefined) {
        added = [];
        segments.push({ rules: added });
      }
      added.push(rule);
      fresh++;
      continue;
    }
    added = undefined;
    if (copy !== undefined && copy.from + copy.count === at) copy.count++;
    else {
      copy = { from: at, count: 1 };
      segments.push(copy);
    }
  }
  if (fresh > rules.length * MAX_NEW_SHARE) return undefined;
  const backends: [string, Backend | undefined][] = [];
  for (const [key, backend] of next.backends)
    if (base.backends.get(key) !== backend) backends.push([key, backend]);
  for (const key of base.backends.keys()) if (!next.backends.has(key)) backends.push([key, undefined]);
  const { rules: _rules, ...input } = next.rules;
  return {
    base: baseSeq,
    rules: segments,
    backends,
    endpoints: endpointChanges(held, next.endpoints),
    rest: { input, tls: next.tls, summary: next.summary },
  };
}

/**
 * The payload `delta` describes, built on `base` (the payload of swap `delta.base`) and `held`. Its maps
 * hold the same entries as the primary's, not in the same order (they are read by key).
 */
export function applyConfigDelta(
  base: ConfigPayload,
  held: EndpointTable,
  delta: ConfigDelta,
): ConfigPayload {
  const previous = base.rules.rules;
  const rules: RouteRule<Route>[] = [];
  for (const segment of delta.rules) {
    if ('rules' in segment) for (const rule of segment.rules) rules.push(rule);
    else for (let i = segment.from; i < segment.from + segment.count; i++) rules.push(previous[i]!);
  }
  const backends = new Map(base.backends);
  for (const [key, backend] of delta.backends) {
    if (backend === undefined) backends.delete(key);
    else backends.set(key, backend);
  }
  const { tls, summary, input } = delta.rest;
  return {
    rules: { ...input, rules },
    backends,
    endpoints: withChanges(held, delta.endpoints),
    tls,
    summary,
  };
}
