// Turns each snapshot from a source into a configuration, or the errors that reject it. How an error
// counts is the source's policy: a file is rejected whole, a cluster object in error is left out.
import type { Diagnostic, ErrorPolicy, SnapshotResult } from '@gateway/manifests';
import { formatDiagnostic } from '@gateway/manifests';
import type { GatewayConfig, TranslateOptions } from '@gateway/translate';
import { translate } from '@gateway/translate';

export type { SnapshotResult };

export type ReconcileOutcome =
  | { ok: true; config: GatewayConfig; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

/** Pure: the configuration a snapshot would give, or the errors that reject it. */
export function compileSnapshot(
  result: SnapshotResult,
  options: TranslateOptions,
  policy: ErrorPolicy = 'reject-snapshot',
): ReconcileOutcome {
  const strict = policy === 'reject-snapshot';
  if (strict && result.diagnostics.some((d) => d.severity === 'error')) {
    return { ok: false, diagnostics: result.diagnostics };
  }
  const { config, diagnostics } = translate(result.snapshot, options);
  const all = [...result.diagnostics, ...diagnostics];
  if (strict && diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics: all };
  return { ok: true, config, diagnostics: all };
}

export function describe(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(formatDiagnostic);
}
