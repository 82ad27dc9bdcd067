// Turns each snapshot from a source into a configuration, or the errors that reject it. How an error
// counts is the source's policy: a file is rejected whole, a cluster object in error is left out.
import type { Diagnostic, ErrorPolicy, SnapshotResult } from '@gateway/manifests';
import { formatDiagnostic } from '@gateway/manifests';
import type { GatewayConfig, TranslateOptions, TranslateResult } from '@gateway/translate';
import { translate } from '@gateway/translate';

export type { SnapshotResult };

export type ReconcileOutcome =
  | {
      ok: true;
      config: GatewayConfig;
      diagnostics: Diagnostic[];
      /** What translate said beyond the configuration: Ingresses ignored or excluded, annotations. */
      translated: TranslateResult;
    }
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
  const translated = translate(result.snapshot, options);
  const { config, diagnostics } = translated;
  const all = [...result.diagnostics, ...diagnostics];
  if (strict && diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics: all };
  return { ok: true, config, diagnostics: all, translated };
}

export function describe(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(formatDiagnostic);
}

/** `--check`'s list of Ingresses that are not served, and why. */
export function describeLeftOut(translated: TranslateResult): string[] {
  const lines = translated.ignored.map(
    (i) => `Ingress ${i.namespace}/${i.name}: not ours, ignored: ${i.reason}`,
  );
  for (const e of translated.excluded) {
    const why =
      e.cause === 'canary'
        ? 'a canary (canaries are not implemented): left out'
        : `access restrictions not implemented (${e.annotations.join(', ')}): every request answers 503 (--serve-unhonoured-access-annotations serves it without them)`;
    lines.push(`Ingress ${e.namespace}/${e.name}: not served: ${why}`);
  }
  return lines;
}
