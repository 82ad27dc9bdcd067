// The immutable set of objects that translate() reads.
import { formatLocation } from './format.js';
import type { Diagnostic, KubeObject, Snapshot, SourcedObject } from './types.js';
import { isNamespaced } from './validate.js';

export interface SnapshotResult {
  snapshot: Snapshot;
  diagnostics: Diagnostic[];
}

export const emptySnapshot: Snapshot = Object.freeze({
  ingresses: Object.freeze([]),
  ingressClasses: Object.freeze([]),
  services: Object.freeze([]),
  endpointSlices: Object.freeze([]),
  endpoints: Object.freeze([]),
  secrets: Object.freeze([]),
});

/**
 * Groups objects by kind, in the order given. A second object of the same kind, namespace and name is an
 * error naming both places; the first is kept.
 */
export function buildSnapshot(objects: Iterable<SourcedObject>): SnapshotResult {
  const groups: { [K in KubeObject['kind']]: SourcedObject[] } = {
    Ingress: [],
    IngressClass: [],
    Service: [],
    EndpointSlice: [],
    Endpoints: [],
    Secret: [],
  };
  const seen = new Map<string, SourcedObject>();
  const diagnostics: Diagnostic[] = [];
  for (const sourced of objects) {
    const { kind, metadata } = sourced.object;
    const namespace = isNamespaced(kind) ? (metadata.namespace ?? 'default') : undefined;
    const key = `${kind}/${namespace ?? ''}/${metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const d: Diagnostic = {
        severity: 'error',
        kind,
        name: metadata.name,
        message: `duplicate ${kind} ${namespace === undefined ? '' : `${namespace}/`}${metadata.name}: first defined at ${formatLocation(first.source) ?? `position ${first.source.order}`}`,
      };
      if (sourced.source.file !== undefined) d.file = sourced.source.file;
      if (sourced.source.line !== undefined) d.line = sourced.source.line;
      if (namespace !== undefined) d.namespace = namespace;
      diagnostics.push(d);
      continue;
    }
    seen.set(key, sourced);
    groups[kind].push(sourced);
  }
  const snapshot = Object.freeze({
    ingresses: Object.freeze(groups.Ingress),
    ingressClasses: Object.freeze(groups.IngressClass),
    services: Object.freeze(groups.Service),
    endpointSlices: Object.freeze(groups.EndpointSlice),
    endpoints: Object.freeze(groups.Endpoints),
    secrets: Object.freeze(groups.Secret),
  }) as Snapshot;
  return { snapshot, diagnostics };
}
