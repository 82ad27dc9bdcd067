// What the nginx.ingress.kubernetes.io/* annotations of one Ingress mean here: the few honoured ones
// read, everything else reported, and the verdicts translate() acts on (canary, fail closed, regex).
import { type Diagnostic, didYouMean, type Ingress, type SourcedObject } from '@gateway/manifests';
import { ObjectMemo } from '@gateway/routing';
import { diagnosticFor } from '../diagnostics.js';
import { KNOWN_ANNOTATIONS, NGINX_PREFIX, UNKNOWN_ANNOTATION_LABEL } from './known.js';
import { parseGoBool } from './parse-bool.js';

export interface AnnotationReview {
  readonly diagnostics: Diagnostic[];
  /** Metric labels (known names without the prefix, or `unknown`) of what is not honoured, each once. */
  readonly unhonoured: ReadonlySet<string>;
  /** `canary: "true"`: left out until canaries are implemented. */
  readonly canary: boolean;
  /** Access-restricting annotations (full names) whose value restricts: fail closed unless allowed. */
  readonly restricting: readonly string[];
  /** `use-regex: "true"`: ingress-nginx matches the paths of this Ingress's hosts as regexes. */
  readonly useRegex: boolean;
  /** `rewrite-target`, when set: ingress-nginx turns regex on for a host where it differs from a path. */
  readonly rewriteTarget: string | undefined;
  /** `ssl-redirect` (default true) and `force-ssl-redirect` (default false), read as ingress-nginx does. */
  readonly sslRedirect: boolean;
  readonly forceSslRedirect: boolean;
}

/** Booleans we read, with ingress-nginx's defaults (for an absent or invalid value). */
const BOOLEAN_DEFAULTS: ReadonlyMap<string, boolean> = new Map([
  ['ssl-redirect', true],
  ['force-ssl-redirect', false],
  ['canary', false],
  ['use-regex', false],
  // ingress-nginx applies the ConfigMap's global-auth-url unless an Ingress turns it off.
  ['enable-global-auth', true],
]);

/** The review of an Ingress without ingress-nginx annotations: every default. Never mutated. */
const NO_ANNOTATIONS: AnnotationReview = Object.freeze({
  diagnostics: Object.freeze([]) as unknown as Diagnostic[],
  unhonoured: new Set<string>(),
  canary: false,
  restricting: Object.freeze([]),
  useRegex: false,
  rewriteTarget: undefined,
  sslRedirect: true,
  forceSslRedirect: false,
});

const VALID_BOOLEANS = '1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False';

const SNIPPET_MESSAGE =
  'snippets are never honoured: configuration as text is how CVE-2025-1974 became remote code execution';

export const ANNOTATION_FIELD = (name: string): string => `metadata.annotations[${JSON.stringify(name)}]`;

/** Reviews by Ingress object, one map per value of `serveUnhonouredAccess` (see `reviewedAnnotations`). */
const REVIEWS = [
  new ObjectMemo<SourcedObject<Ingress>, AnnotationReview>('annotation review'),
  new ObjectMemo<SourcedObject<Ingress>, AnnotationReview>('annotation review, unhonoured access served'),
] as const;

/**
 * `reviewAnnotations`, made once per Ingress object: a pure function of it, and sources keep an unchanged
 * object across rebuilds (never mutate a review: it is shared).
 */
export function reviewedAnnotations(
  ingress: SourcedObject<Ingress>,
  serveUnhonouredAccess: boolean,
): AnnotationReview {
  const reviews = REVIEWS[serveUnhonouredAccess ? 1 : 0];
  let review = reviews.get(ingress);
  if (review === undefined) {
    review = reviewAnnotations(ingress, serveUnhonouredAccess);
    reviews.set(ingress, review);
  }
  return review;
}

/**
 * Reviews every annotation under the ingress-nginx prefix, in name order (stable output).
 * `serveUnhonouredAccess` only changes the wording here: translate() decides what is served.
 */
export function reviewAnnotations(
  ingress: SourcedObject<Ingress>,
  serveUnhonouredAccess: boolean,
): AnnotationReview {
  const annotations = ingress.object.metadata.annotations ?? {};
  const ours = Object.keys(annotations)
    .filter((key) => key.startsWith(NGINX_PREFIX))
    .sort();
  // Most Ingresses have none: one shared verdict, nothing allocated (10,000 Ingresses per rebuild).
  if (ours.length === 0) return NO_ANNOTATIONS;
  const diagnostics: Diagnostic[] = [];
  const unhonoured = new Set<string>();
  const warn = (full: string, message: string): void => {
    diagnostics.push(diagnosticFor(ingress, 'warning', ANNOTATION_FIELD(full), message));
  };
  const bools = new Map<string, boolean>();
  for (const full of ours) {
    const name = full.slice(NGINX_PREFIX.length);
    const fallback = BOOLEAN_DEFAULTS.get(name);
    if (fallback === undefined) continue;
    const value = annotations[full] ?? '';
    const parsed = parseGoBool(value);
    if (parsed === undefined) {
      warn(
        full,
        `invalid boolean ${JSON.stringify(value)} (ingress-nginx reads booleans with Go's strconv.ParseBool: ${VALID_BOOLEANS}): the default, ${fallback}, applies`,
      );
    }
    bools.set(name, parsed ?? fallback);
  }
  const flag = (name: string): boolean => bools.get(name) ?? BOOLEAN_DEFAULTS.get(name)!;
  const canary = flag('canary');
  const restricting: string[] = [];

  for (const full of ours) {
    const name = full.slice(NGINX_PREFIX.length);
    const value = annotations[full] ?? '';
    const kind = name.endsWith('-snippet') ? 'snippet' : KNOWN_ANNOTATIONS.get(name);
    const label = KNOWN_ANNOTATIONS.has(name) ? name : UNKNOWN_ANNOTATION_LABEL;
    switch (kind) {
      case undefined: {
        const hint = didYouMean(name, KNOWN_ANNOTATIONS.keys());
        const mean = hint === undefined ? '' : ` (did you mean "${NGINX_PREFIX}${hint}"?)`;
        warn(full, `unknown ingress-nginx annotation${mean}: ignored`);
        unhonoured.add(label);
        break;
      }
      case 'honoured':
        break;
      case 'snippet':
        warn(full, `${SNIPPET_MESSAGE}: ignored`);
        unhonoured.add(label);
        break;
      case 'regex':
        if (flag(name)) {
          warn(
            full,
            'not honoured: regular-expression paths are not implemented; each path is matched literally, as its pathType says',
          );
          unhonoured.add(label);
        }
        break;
      case 'canary':
        if (name === 'canary') {
          if (canary) {
            warn(
              full,
              'canary Ingresses are not implemented: this Ingress is left out (not served, and no candidate against the Ingress it is the canary of)',
            );
            unhonoured.add(label);
          }
        } else if (!canary) {
          warn(
            full,
            `not honoured: "${name}" means nothing without "${NGINX_PREFIX}canary": "true": ignored`,
          );
          unhonoured.add(label);
        } else {
          // Part of the canary left out above: counted, not repeated.
          unhonoured.add(label);
        }
        break;
      case 'access': {
        const verdict = accessVerdict(name, value, flag);
        if (verdict === 'no-effect') break;
        unhonoured.add(label);
        if (verdict !== 'restricts') {
          warn(full, `not honoured: ${verdict}`);
          break;
        }
        restricting.push(full);
        warn(
          full,
          serveUnhonouredAccess
            ? 'restricts access, which this gateway does not implement: served WITHOUT the restriction because --serve-unhonoured-access-annotations'
            : canary
              ? 'restricts access, which this gateway does not implement (the Ingress is a canary, left out anyway)'
              : 'restricts access, which this gateway does not implement: the Ingress is NOT served (its rules and defaultBackend answer 503; --serve-unhonoured-access-annotations serves it without the restriction)',
        );
        break;
      }
      case 'not-honoured':
        warn(full, 'not honoured: the gateway does not implement it: ignored');
        unhonoured.add(label);
        break;
    }
  }
  const rewrite = annotations[`${NGINX_PREFIX}rewrite-target`];
  return {
    diagnostics,
    unhonoured,
    canary,
    restricting,
    useRegex: flag('use-regex'),
    rewriteTarget: rewrite === undefined || rewrite === '' ? undefined : rewrite,
    sslRedirect: flag('ssl-redirect'),
    forceSslRedirect: flag('force-ssl-redirect'),
  };
}

/**
 * Whether an access annotation's value would restrict who reaches the Ingress in ingress-nginx:
 * 'restricts', 'no-effect' (nothing to report: we do the same), or why it does not (reported).
 */
function accessVerdict(
  name: string,
  value: string,
  flag: (name: string) => boolean,
): 'restricts' | 'no-effect' | string {
  if (name === 'enable-global-auth') {
    // "false" turns off a global auth (the ConfigMap's global-auth-url), and there is none here.
    return flag(name) ? 'restricts' : 'no-effect';
  }
  if (name === 'satisfy') {
    return '"satisfy" only chooses how auth-* and source ranges combine, and each of those keeps the Ingress from being served by itself; alone it restricts nothing';
  }
  // ingress-nginx rejects an empty value as invalid content and applies no restriction.
  if (value.trim() === '') return 'an empty value restricts nothing (ingress-nginx ignores it too)';
  return 'restricts';
}
