// Snapshot → GatewayConfig: class filter, TLS, rules (merged, conflicts resolved), defaultBackends,
// backends. Pure: everything it needs is an argument; problems become diagnostics, never exceptions.
import type { Diagnostic, Ingress, IngressBackend, Snapshot, SourcedObject } from '@gateway/manifests';
import {
  compileRoutes,
  findShadowedRules,
  type RouteRule,
  type RouteTable,
  type RouteTableInput,
} from '@gateway/routing';
import { type AnnotationReview, reviewedAnnotations } from './annotations/review.js';
import { BackendResolver } from './backend-resolver.js';
import { selectIngresses } from './class-filter.js';
import type { Backend, Endpoint, GatewayConfig, Route } from './config.js';
import { diagnosticFor, namespaceOf, objectName } from './diagnostics.js';
import { compareStrings, sortIngresses } from './ingress-order.js';
import { type IngressPath, ingressPaths, ruleOfPath } from './ingress-paths.js';
import { defaultTranslateOptions, type TranslateOptions } from './options.js';
import { pathField, regexPathWarnings } from './regex-paths.js';
import { bindTls, ruleHosts, type TlsHosts } from './tls-bindings.js';

/** An Ingress the class filter leaves to another controller. */
export interface IgnoredIngress {
  readonly namespace: string;
  readonly name: string;
  /** e.g. `class "nginx" is not ours (its controller is k8s.io/ingress-nginx; ours is k8s.io/ingress-gateway)`. */
  readonly reason: string;
}

/** An Ingress of ours that is not served because of its ingress-nginx annotations. */
export interface ExcludedIngress {
  readonly namespace: string;
  readonly name: string;
  /**
   * - `access`: access-restricting annotations we do not implement (fail closed). Its rules and
   *   defaultBackend keep their place in precedence but answer 503, so no other Ingress's rule takes
   *   over its host and paths; its TLS certificates stay bound.
   * - `canary`: `canary: "true"`: left out entirely, no candidate in any conflict.
   */
  readonly cause: 'access' | 'canary';
  /** The annotations (full names) that caused it. */
  readonly annotations: readonly string[];
}

export interface TranslateResult {
  readonly config: GatewayConfig;
  readonly diagnostics: Diagnostic[];
  /** Left out by the class filter, in snapshot order. */
  readonly ignored: readonly IgnoredIngress[];
  /** Ours but not served (fail closed, canary), oldest first. */
  readonly excluded: readonly ExcludedIngress[];
  /**
   * Per ingress-nginx annotation not honoured (name without the prefix, or `unknown` for a name not in
   * ingress-nginx's list; never the raw name), how many of our Ingresses (served or excluded) carry it.
   * Names in order; only counts above zero.
   */
  readonly unhonouredAnnotations: ReadonlyMap<string, number>;
}

export function translate(
  snapshot: Snapshot,
  options: TranslateOptions = defaultTranslateOptions(),
): TranslateResult {
  const diagnostics: Diagnostic[] = [];
  const { served: ours, ignored } = selectIngresses(snapshot, options);
  const serveAccess = options.serveUnhonouredAccessAnnotations === true;
  const reviews = new Map<SourcedObject<Ingress>, AnnotationReview>();
  // Oldest first: every "first wins" below (rules, host defaults, catch-all, TLS hosts) follows it.
  // Sorted once; the filters below keep the order.
  const oursByAge = sortIngresses(ours);
  for (const ingress of oursByAge) {
    const review = reviewedAnnotations(ingress, serveAccess);
    reviews.set(ingress, review);
    diagnostics.push(...review.diagnostics);
  }
  const reviewOf = (ingress: SourcedObject<Ingress>): AnnotationReview => reviews.get(ingress)!;
  // A canary is no candidate for anything: it must never serve, or win against, its main Ingress.
  const ingresses = oursByAge.filter((ingress) => !reviewOf(ingress).canary);
  // Fail closed: these keep their precedence (so nothing younger takes over their hosts and paths) but
  // every route of theirs answers 503 and reaches no backend.
  const blocked = new Set(
    serveAccess ? [] : ingresses.filter((ingress) => reviewOf(ingress).restricting.length > 0),
  );
  const excluded: ExcludedIngress[] = [];
  for (const ingress of oursByAge) {
    const review = reviewOf(ingress);
    const base = { namespace: namespaceOf(ingress), name: ingress.object.metadata.name };
    if (review.canary) excluded.push({ ...base, cause: 'canary', annotations: [NGINX_CANARY] });
    else if (blocked.has(ingress))
      excluded.push({ ...base, cause: 'access', annotations: review.restricting });
  }
  // TLS is settled first: routes need to know which hosts redirect to HTTPS.
  const tls = bindTls(ingresses, snapshot.secrets, diagnostics, options);
  const resolver = new BackendResolver(snapshot, options, diagnostics);

  const routeTo = (
    ingress: SourcedObject<Ingress>,
    ref: IngressBackend,
    /** The field of `ref`, spelled out only for a diagnostic. */
    field: () => string,
    host: string,
    path: string,
  ): Route => {
    const tlsRedirect = redirectsToHttps(reviewOf(ingress), tls.hosts.covers(host));
    if (blocked.has(ingress)) {
      const name = ingress.object.metadata.name;
      return {
        namespace: namespaceOf(ingress),
        ingress: name,
        service: '',
        host,
        path,
        backend: undefined,
        tlsRedirect,
      };
    }
    const resolved = resolver.resolve(namespaceOf(ingress), ref);
    if (resolved.problem !== undefined) {
      diagnostics.push(
        diagnosticFor(ingress, 'warning', `${field()}.${resolved.problem.field}`, resolved.problem.message),
      );
    }
    const route: Route = {
      namespace: namespaceOf(ingress),
      ingress: ingress.object.metadata.name,
      service: ref.service?.name ?? '',
      host,
      path,
      backend: resolved.backend,
      tlsRedirect,
    };
    return route;
  };

  const candidates: IngressPath[] = [];
  // Indexed loops over the large arrays here: translate runs once per rebuild, mostly before V8 optimises
  // it, and an unoptimised for-of allocates an iterator result per element (50,000 paths, each loop).
  for (let i = 0; i < ingresses.length; i++) {
    const read = ingressPaths(ingresses[i]!);
    for (let j = 0; j < read.paths.length; j++) candidates.push(read.paths[j]!);
    for (let j = 0; j < read.diagnostics.length; j++) diagnostics.push(read.diagnostics[j]!);
  }
  for (const d of regexPathWarnings(candidates, reviewOf, (ingress) => !blocked.has(ingress)))
    diagnostics.push(d);
  const shadowed = new Set<number>();
  for (const s of findShadowedRules(candidates)) {
    shadowed.add(s.index);
    const loser = s.rule;
    const winner = s.by;
    const where =
      winner.ingress === loser.ingress
        ? `${pathField(winner)} of this Ingress`
        : `Ingress ${objectName(winner.ingress)}`;
    const what = `host "${loser.host}" path "${loser.path}" (${loser.pathType})`;
    const message =
      s.reason === 'duplicate'
        ? `${what} is already served by ${where}, which takes precedence (the oldest Ingress wins): ignored`
        : `${what} matches the same requests as path "${winner.path}" (${winner.pathType}) of ${where}, which takes precedence: ignored`;
    diagnostics.push(diagnosticFor(loser.ingress, 'warning', pathField(loser), message));
  }
  const rules: RouteRule<Route>[] = [];
  // What depends on the Ingress only is looked up when the Ingress changes (candidates come grouped).
  let ingress: SourcedObject<Ingress> | undefined;
  let review: AnnotationReview | undefined;
  let isBlocked = false;
  for (let i = 0; i < candidates.length; i++) {
    if (shadowed.size > 0 && shadowed.has(i)) continue;
    const c = candidates[i]!;
    if (c.ingress !== ingress) {
      ingress = c.ingress;
      review = reviewOf(ingress);
      isBlocked = blocked.size > 0 && blocked.has(ingress);
    }
    const tlsRedirect = redirectsToHttps(review!, tls.hosts.covers(c.host));
    if (isBlocked) {
      rules.push(ruleOfPath(c, undefined, true, tlsRedirect));
      continue;
    }
    const resolved = resolver.resolve(namespaceOf(c.ingress), c.backend, c.serviceKey, c.port);
    if (resolved.problem !== undefined) {
      const field = `${pathField(c)}.backend.${resolved.problem.field}`;
      diagnostics.push(diagnosticFor(c.ingress, 'warning', field, resolved.problem.message));
    }
    rules.push(ruleOfPath(c, resolved.backend, false, tlsRedirect));
  }

  // defaultBackend (ingress-nginx): for the hosts of its own rules; and, of an Ingress without rules,
  // the catch-all.
  const defaults = ingresses.filter((ing) => ing.object.spec?.defaultBackend !== undefined);
  const defaultRoutes = new Map(
    defaults.map((ing) => [
      ing,
      routeTo(ing, ing.object.spec!.defaultBackend!, () => 'spec.defaultBackend', '', ''),
    ]),
  );
  const hostDefaults: Array<{ host: string; target: Route }> = [];
  const hostOwners = new Map<string, SourcedObject<Ingress>>();
  for (const ingress of defaults) {
    const route = defaultRoutes.get(ingress)!;
    const hosts = ruleHosts(ingress.object);
    const ruleCount = ingress.object.spec?.rules?.length ?? 0;
    if (hosts.length === 0 && ruleCount > 0) {
      diagnostics.push(
        diagnosticFor(
          ingress,
          'warning',
          'spec.defaultBackend',
          'not used: an Ingress whose rules have no host has no host to be the default of, and it is not a catch-all because it has rules (ingress-nginx)',
        ),
      );
    }
    for (const host of hosts) {
      const owner = hostOwners.get(host);
      if (owner !== undefined) {
        diagnostics.push(
          diagnosticFor(
            ingress,
            'warning',
            'spec.defaultBackend',
            `host "${host}" already has the defaultBackend of Ingress ${objectName(owner)} (the oldest Ingress wins): not used for it`,
          ),
        );
        continue;
      }
      hostOwners.set(host, ingress);
      hostDefaults.push({
        host,
        target: { ...route, host, tlsRedirect: redirectsToHttps(reviewOf(ingress), tls.hosts.covers(host)) },
      });
    }
  }

  const catchAllCandidates = defaults.filter((ing) => (ing.object.spec?.rules?.length ?? 0) === 0);
  const catchAllOwner = catchAllCandidates[0];
  const catchAll = catchAllOwner === undefined ? undefined : defaultRoutes.get(catchAllOwner);
  for (const ingress of catchAllCandidates.slice(1)) {
    diagnostics.push(
      diagnosticFor(
        ingress,
        'warning',
        'spec.defaultBackend',
        `the catch-all is the defaultBackend of Ingress ${objectName(catchAllOwner!)} (the oldest Ingress wins): not used`,
      ),
    );
  }
  if (catchAll !== undefined)
    hostDefaults.push(...redirectingCatchAll(rules, hostOwners, tls.hosts, catchAll));

  const input: RouteTableInput<Route> = {
    rules,
    hostDefaults,
    ...(catchAll === undefined ? {} : { catchAll }),
  };
  const backends = collectBackends(input);
  const endpointTable = new Map<string, readonly Endpoint[]>();
  let endpoints = 0;
  for (const key of backends.keys()) {
    const list = resolver.endpoints.get(key) ?? [];
    endpointTable.set(key, list);
    endpoints += list.length;
  }
  let routes: RouteTable<Route> | undefined;
  const config: GatewayConfig = {
    // Compiled when first read: by the data plane that serves it. A primary that hands the rules to its
    // workers never reads it (11.6 MB for 10,000 Ingresses, made and dropped at every change).
    get routes() {
      routes ??= compileRoutes(input, { reuse: true });
      return routes;
    },
    backends,
    endpoints: endpointTable,
    tls: tls.bindings,
    rules: input,
    summary: {
      ingresses: ingresses.length - blocked.size,
      ignoredIngresses: ignored.length,
      rules: rules.length,
      hostDefaults: hostDefaults.length,
      catchAll: catchAll !== undefined,
      backends: backends.size,
      endpoints,
      tlsBindings: tls.bindings.length,
      warnings: diagnostics.filter((d) => d.severity === 'warning').length,
      errors: diagnostics.filter((d) => d.severity === 'error').length,
    },
  };
  return {
    config,
    diagnostics,
    ignored: ignored.map(({ ingress, reason }) => ({
      namespace: namespaceOf(ingress),
      name: ingress.object.metadata.name,
      reason,
    })),
    excluded,
    unhonouredAnnotations: countUnhonoured(reviews.values()),
  };
}

function countUnhonoured(reviews: Iterable<AnnotationReview>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const review of reviews)
    for (const label of review.unhonoured) counts.set(label, (counts.get(label) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => compareStrings(a, b)));
}

const NGINX_CANARY = 'nginx.ingress.kubernetes.io/canary';

/**
 * ingress-nginx's annotations, so an operator's Ingresses carry over: `ssl-redirect: "false"` serves a
 * TLS host on plain HTTP too; `force-ssl-redirect: "true"` redirects even a host without TLS. Both are
 * read as ingress-nginx reads booleans (annotations/review.ts).
 */
function redirectsToHttps(review: AnnotationReview, hasTls: boolean): boolean {
  if (review.forceSslRedirect) return true;
  return hasTls && review.sslRedirect;
}

/**
 * A host in a `tls` section answers plain HTTP with a 308 even where no rule matches (ingress-nginx puts
 * ssl-redirect on the whole server). Such a host without a defaultBackend of its own falls to the
 * catch-all: give it the catch-all's route with the redirect on. (Without a catch-all it answers 404.)
 */
function redirectingCatchAll(
  rules: readonly RouteRule<Route>[],
  owned: ReadonlyMap<string, unknown>,
  tlsHosts: TlsHosts,
  catchAll: Route,
): Array<{ host: string; target: Route }> {
  const hosts = new Set<string>();
  for (let i = 0; i < rules.length; i++) {
    const host = rules[i]!.host;
    if (!owned.has(host) && tlsHosts.covers(host)) hosts.add(host);
  }
  if (hosts.size === 0) return [];
  const target: Route = { ...catchAll, tlsRedirect: true };
  return [...hosts].map((host) => ({ host, target }));
}

/** The backends routes refer to, by key, in key order. */
function collectBackends(input: RouteTableInput<Route>): Map<string, Backend> {
  const found = new Map<string, Backend>();
  const add = (route: Route | undefined): void => {
    if (route?.backend !== undefined) found.set(route.backend.key, route.backend);
  };
  const rules = input.rules;
  for (let i = 0; i < rules.length; i++) add(rules[i]!.target);
  for (const entry of input.hostDefaults ?? []) add(entry.target);
  add(input.catchAll);
  return new Map([...found.entries()].sort(([a], [b]) => compareStrings(a, b)));
}
