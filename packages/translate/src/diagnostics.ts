// Diagnostics attached to the object (and field) they are about, with its file and line when known.
import type { Diagnostic, KubeObject, Severity, SourcedObject } from '@gateway/manifests';

export function diagnosticFor(
  item: SourcedObject<KubeObject>,
  severity: Severity,
  field: string | undefined,
  message: string,
): Diagnostic {
  const { kind, metadata } = item.object;
  return {
    severity,
    ...(item.source.file === undefined ? {} : { file: item.source.file }),
    ...(item.source.line === undefined ? {} : { line: item.source.line }),
    kind,
    ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
    name: metadata.name,
    ...(field === undefined ? {} : { field }),
    message,
  };
}

/** `namespace/name` of an object, as messages name it. */
export function objectName(item: SourcedObject<KubeObject>): string {
  return `${namespaceOf(item)}/${item.object.metadata.name}`;
}

/** Objects reaching translate carry a namespace; `default` is what the API server would have set. */
export function namespaceOf(item: SourcedObject<KubeObject>): string {
  return item.object.metadata.namespace ?? 'default';
}

/**
 * Objects by `namespace/name`. A snapshot should hold each object once; if one holds a duplicate, the
 * first in source order wins, whatever the order of the array.
 */
export function indexByName<T extends KubeObject>(
  items: readonly SourcedObject<T>[],
): Map<string, SourcedObject<T>> {
  const index = new Map<string, SourcedObject<T>>();
  for (const item of items) {
    const key = `${namespaceOf(item)}/${item.object.metadata.name}`;
    const seen = index.get(key);
    if (seen === undefined || item.source.order < seen.source.order) index.set(key, item);
  }
  return index;
}
