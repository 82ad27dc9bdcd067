// The paths of one Ingress as translate reads them, and the route each one got: a function of that one
// object (and of what the route reached), kept as long as the object lives. Sources hand over the same
// object while its version is unchanged (the cluster cache; the file source for a file not re-read), so
// a rebuild after one change redoes the work of that Ingress, not of all 10,000 (50,000 paths: about a
// third of translate's time and of its garbage, measured).
import type { Diagnostic, Ingress, IngressBackend, SourcedObject } from '@gateway/manifests';
import { normalizePath, ObjectMemo, type RouteRule } from '@gateway/routing';
import type { Backend, Route } from './config.js';
import { diagnosticFor, namespaceOf } from './diagnostics.js';
import { type PathCandidate, pathField } from './regex-paths.js';

/** One `spec.rules[i].http.paths[j]` that passed its own checks, before conflicts are settled. */
export interface IngressPath extends PathCandidate {
  readonly backend: IngressBackend;
  /**
   * `namespace/service` of the backend, made once (one string for the paths of an Ingress naming the
   * same Service): what the resolver looks the Service up by.
   */
  readonly serviceKey: string | undefined;
  /** The backend's Service port, by number or name, as the resolver takes it. */
  readonly port: number | string | undefined;
  /**
   * The rule this path got at the last rebuild, and what it was made from (`ruleOfPath`): cache slots,
   * the only mutable fields. Fields, not a WeakMap, and the inputs kept here rather than read back from
   * the rule: a rebuild checks 50,000 paths, and each lookup or pointer followed into a table that
   * large is a cache miss that costs more than the rest of the loop.
   */
  lastRule: RouteRule<Route> | undefined;
  lastBackend: Backend | undefined;
  lastBlocked: boolean;
  lastTlsRedirect: boolean;
}

export interface IngressPaths {
  /** In rule and path order, host lowercased, path defaulted. */
  readonly paths: readonly IngressPath[];
  /** The paths left out (errors) or that can never match (warnings). */
  readonly diagnostics: readonly Diagnostic[];
}

const PATHS = new ObjectMemo<SourcedObject<Ingress>, IngressPaths>('paths of an Ingress');

export function ingressPaths(ingress: SourcedObject<Ingress>): IngressPaths {
  let known = PATHS.get(ingress);
  if (known === undefined) {
    known = readPaths(ingress);
    PATHS.set(ingress, known);
  }
  return known;
}

function readPaths(ingress: SourcedObject<Ingress>): IngressPaths {
  const paths: IngressPath[] = [];
  const diagnostics: Diagnostic[] = [];
  const rules = ingress.object.spec?.rules ?? [];
  const serviceKeys = new Map<string, string>();
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const host = (rule.host ?? '').toLowerCase();
    const list = rule.http?.paths ?? [];
    for (let j = 0; j < list.length; j++) {
      const p = list[j]!;
      if ((p.path ?? '') === '' && p.pathType === 'Exact') {
        diagnostics.push(pathDiagnostic(ingress, i, j, 'error', 'an Exact path needs a path'));
        continue;
      }
      const path = p.path || '/';
      if (!path.startsWith('/')) {
        diagnostics.push(pathDiagnostic(ingress, i, j, 'error', `"${path}" must start with "/"`));
        continue;
      }
      const normal = normalizePath(path);
      if (normal !== path) {
        // Requests are matched by their normalised path (routing's normalizePath), so this never matches.
        const reads = normal === undefined ? 'is invalid' : `reads "${normal}"`;
        const message = `"${path}" is not a normalised path (normalised it ${reads}): no request can match it`;
        diagnostics.push(pathDiagnostic(ingress, i, j, 'warning', message));
      }
      const service = p.backend.service;
      let serviceKey: string | undefined;
      if (service !== undefined) {
        serviceKey = serviceKeys.get(service.name);
        if (serviceKey === undefined) {
          serviceKey = `${namespaceOf(ingress)}/${service.name}`;
          serviceKeys.set(service.name, serviceKey);
        }
      }
      paths.push({
        ingress,
        ruleIndex: i,
        pathIndex: j,
        host,
        path,
        pathType: p.pathType,
        backend: p.backend,
        serviceKey,
        port: service?.port?.number ?? service?.port?.name,
        lastRule: undefined,
        lastBackend: undefined,
        lastBlocked: false,
        lastTlsRedirect: false,
      });
    }
  }
  return { paths, diagnostics };
}

function pathDiagnostic(
  ingress: SourcedObject<Ingress>,
  ruleIndex: number,
  pathIndex: number,
  severity: Diagnostic['severity'],
  message: string,
): Diagnostic {
  return diagnosticFor(ingress, severity, `${pathField({ ruleIndex, pathIndex })}.path`, message);
}

/**
 * The rule of `path`: the one it had if its route's backend (undefined: blocked or unresolved) and
 * redirect are unchanged, so the route's per-route state (bound metric series, log fields) carries
 * over; else a new one. `blocked`: fail closed, the route reaches no backend.
 */
export function ruleOfPath(
  path: IngressPath,
  backend: Backend | undefined,
  blocked: boolean,
  tlsRedirect: boolean,
): RouteRule<Route> {
  const known = path.lastRule;
  if (
    known !== undefined &&
    path.lastBackend === backend &&
    path.lastBlocked === blocked &&
    path.lastTlsRedirect === tlsRedirect
  )
    return known;
  const route: Route = {
    namespace: namespaceOf(path.ingress),
    ingress: path.ingress.object.metadata.name,
    service: blocked ? '' : (path.backend.service?.name ?? ''),
    host: path.host,
    path: path.path,
    backend,
    tlsRedirect,
  };
  const rule: RouteRule<Route> = { host: path.host, path: path.path, pathType: path.pathType, target: route };
  path.lastBackend = backend;
  path.lastBlocked = blocked;
  path.lastTlsRedirect = tlsRedirect;
  path.lastRule = rule;
  return rule;
}
