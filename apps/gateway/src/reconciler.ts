// Turns each snapshot from a source into a running configuration: translate completely, and only when
// nothing is wrong swap it in (certificates, then routes, in one event-loop turn). A snapshot with an
// error keeps the last good configuration running.
import type { Diagnostic, Snapshot } from '@gateway/manifests';
import { formatDiagnostic } from '@gateway/manifests';
import type { GatewayConfig, TranslateOptions } from '@gateway/translate';
import { translate } from '@gateway/translate';

export interface SnapshotResult {
  snapshot: Snapshot;
  diagnostics: Diagnostic[];
}

export interface ApplyTarget {
  apply(config: GatewayConfig): Diagnostic[];
}

export type ReconcileOutcome =
  | { ok: true; config: GatewayConfig; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

/** Pure: the configuration a snapshot would give, or the errors that reject it. */
export function compileSnapshot(result: SnapshotResult, options: TranslateOptions): ReconcileOutcome {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return { ok: false, diagnostics: result.diagnostics };
  const { config, diagnostics } = translate(result.snapshot, options);
  const all = [...result.diagnostics, ...diagnostics];
  if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics: all };
  return { ok: true, config, diagnostics: all };
}

export function describe(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(formatDiagnostic);
}
