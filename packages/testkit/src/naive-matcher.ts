// The reference matcher for property tests: the Ingress v1 rules read as literally as possible, with a
// linear scan over every rule on every call. Slow on purpose; never use it to serve traffic.
// https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types
import type { RouteRule, RouteTableInput } from '@gateway/routing';

/** `*.example.com` takes `foo.example.com`: exactly one more label, not empty, in front of the parent. */
function wildcardMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return false;
  const parent = pattern.slice(1); // '.example.com'
  if (!host.endsWith(parent)) return false;
  const label = host.slice(0, host.length - parent.length);
  return label.length > 0 && !label.includes('.');
}

/** The host whose rules apply: an exact host, else a wildcard, else '' (rules without a host). */
function chooseHost(hosts: readonly string[], host: string): string {
  if (host !== '' && hosts.some((h) => !h.startsWith('*.') && h === host)) return host;
  const wildcard = hosts.find((h) => wildcardMatches(h, host));
  return wildcard ?? '';
}

/** Path elements as the Ingress docs define them: the path split by `/`. */
function elements(path: string): string[] {
  return path.split('/');
}

/** How many elements of `path` the rule matches, or -1 when it does not match. */
function matchedElements(rule: RouteRule<unknown>, path: string): number {
  if (rule.pathType === 'Exact') return rule.path === path ? elements(path).length : -1;
  // Prefix and ImplementationSpecific: the trailing slash of the rule is ignored.
  const rulePath = rule.path.endsWith('/') ? rule.path.slice(0, -1) : rule.path;
  const want = elements(rulePath);
  const got = elements(path);
  if (want.length > got.length) return -1;
  for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) return -1;
  return want.length;
}

/**
 * What `compileRoutes(input).match(host, path)` must return: longest match in elements, Exact before
 * Prefix on a tie, the first rule given on a full tie; no match: the chosen host's default, else the
 * catch-all.
 */
export function naiveMatch<T>(input: RouteTableInput<T>, host: string, path: string): T | undefined {
  const rules = input.rules.map((r) => ({ ...r, host: r.host.toLowerCase() }));
  const defaults = (input.hostDefaults ?? []).map((d) => ({ ...d, host: d.host.toLowerCase() }));
  const chosen = chooseHost([...rules.map((r) => r.host), ...defaults.map((d) => d.host)], host);

  let best: RouteRule<T> | undefined;
  let bestCount = -1;
  for (const rule of rules) {
    if (rule.host !== chosen) continue;
    const count = matchedElements(rule, path);
    if (count < 0) continue;
    const better =
      count > bestCount || (count === bestCount && rule.pathType === 'Exact' && best?.pathType !== 'Exact');
    if (better) {
      best = rule;
      bestCount = count;
    }
  }
  if (best !== undefined) return best.target;
  const hostDefault = defaults.find((d) => d.host === chosen);
  return hostDefault !== undefined ? hostDefault.target : input.catchAll;
}
