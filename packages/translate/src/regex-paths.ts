// ingress-nginx turns every path of a host into a case-insensitive regular expression (`~* "^path"`)
// as soon as one Ingress on that host has `use-regex: "true"`, or a `rewrite-target` that differs from
// one of its paths (template.go, enforceRegexModifier). We match literally: each such path is reported,
// whichever Ingress of the host it belongs to, because that is where the meaning changes.
import type { Diagnostic, HTTPIngressPath, Ingress, SourcedObject } from '@gateway/manifests';
import { NGINX_PREFIX } from './annotations/known.js';
import type { AnnotationReview } from './annotations/review.js';
import { diagnosticFor, objectName } from './diagnostics.js';

export interface PathCandidate {
  readonly ingress: SourcedObject<Ingress>;
  /** `spec.rules[ruleIndex].http.paths[pathIndex]`; the field is spelled out only for a diagnostic. */
  readonly ruleIndex: number;
  readonly pathIndex: number;
  readonly host: string;
  readonly path: string;
  readonly pathType: HTTPIngressPath['pathType'];
}

/** `spec.rules[i].http.paths[j]` of a candidate. */
export function pathField(c: Pick<PathCandidate, 'ruleIndex' | 'pathIndex'>): string {
  return `spec.rules[${c.ruleIndex}].http.paths[${c.pathIndex}]`;
}

export function regexPathWarnings(
  candidates: readonly PathCandidate[],
  reviewOf: (ingress: SourcedObject<Ingress>) => AnnotationReview,
  reported: (ingress: SourcedObject<Ingress>) => boolean,
): Diagnostic[] {
  // Oldest cause per host: candidates come oldest Ingress first.
  const causes = new Map<string, string>();
  // Indexed: see translate.ts (no iterator result per candidate before V8 optimises this).
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (causes.has(c.host)) continue;
    const review = reviewOf(c.ingress);
    const annotation = review.useRegex
      ? 'use-regex'
      : review.rewriteTarget !== undefined && review.rewriteTarget !== c.path
        ? 'rewrite-target'
        : undefined;
    if (annotation !== undefined) {
      causes.set(c.host, `"${NGINX_PREFIX}${annotation}" of Ingress ${objectName(c.ingress)}`);
    }
  }
  const out: Diagnostic[] = [];
  if (causes.size === 0) return out;
  for (const c of candidates) {
    const cause = causes.get(c.host);
    if (cause === undefined || !reported(c.ingress)) continue;
    const host = c.host === '' ? 'the rules without host' : `host "${c.host}"`;
    out.push(
      diagnosticFor(
        c.ingress,
        'warning',
        `${pathField(c)}.path`,
        `ingress-nginx matches "${c.path}" as the case-insensitive regular expression ^${c.path} (${cause} turns regex on for every path of ${host}); regular expressions are not implemented: matched literally, as a ${c.pathType} path`,
      ),
    );
  }
  return out;
}
