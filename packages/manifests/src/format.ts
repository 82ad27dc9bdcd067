import type { Diagnostic } from './types.js';

/** `config/app.yaml:12`, `config/app.yaml`, or undefined for an object from the API server. */
export function formatLocation(where: { file?: string; line?: number }): string | undefined {
  if (where.file === undefined) return undefined;
  return where.line === undefined ? where.file : `${where.file}:${where.line}`;
}

/**
 * `config/app.yaml:12: Ingress dev/ingress-http: spec.tls[0].host: unknown field "host" (did you mean "hosts"?)`;
 * absent parts are left out, warnings are marked.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const parts: string[] = [];
  const location = formatLocation(d);
  if (location !== undefined) parts.push(location);
  const object = [d.namespace, d.name].filter((p) => p !== undefined).join('/');
  if (d.kind !== undefined || object !== '') parts.push([d.kind, object].filter((p) => p).join(' '));
  if (d.field !== undefined) parts.push(d.field);
  parts.push(d.severity === 'warning' ? `warning: ${d.message}` : d.message);
  return parts.join(': ');
}
