// ingress-nginx's annotations (controller v1.15: docs/user-guide/nginx-configuration/annotations.md and the
// parsers under internal/ingress/annotations/), each with what the gateway does with it. The table is
// what keeps "nothing an operator configured is silently ignored" true: every name under the prefix is
// either here or reported as unknown, and metric labels come only from here.

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/**
 * - `honoured`: implemented with ingress-nginx's meaning.
 * - `not-honoured`: read by ingress-nginx, ignored here (a warning).
 * - `access`: restricts who may reach the Ingress; not implemented, so the Ingress is not served
 *   (fail closed) unless `serveUnhonouredAccessAnnotations`.
 * - `canary`: `canary: "true"` makes the Ingress a canary, which is left out; the `canary-*` options
 *   mean nothing without it.
 * - `snippet`: nginx configuration as text; never honoured, whatever we implement later.
 * - `regex`: `use-regex` — paths would be regular expressions; matched literally here.
 */
export type AnnotationKind = 'honoured' | 'not-honoured' | 'access' | 'canary' | 'snippet' | 'regex';

const HONOURED = ['ssl-redirect', 'force-ssl-redirect'];

// Every auth-* (basic/digest, external auth, client certificates) and the source-range lists. Options
// such as auth-signin or auth-tls-verify-depth do nothing alone in ingress-nginx, but an Ingress that
// carries one was written to be authenticated: serving it openly is the failure to avoid.
// `satisfy` and `enable-global-auth` are here too; whether their value restricts is decided per value
// (review.ts). auth-snippet is a snippet first.
const ACCESS = [
  'allowlist-source-range',
  'whitelist-source-range',
  'denylist-source-range',
  'auth-always-set-cookie',
  'auth-cache-duration',
  'auth-cache-key',
  'auth-keepalive',
  'auth-keepalive-requests',
  'auth-keepalive-share-vars',
  'auth-keepalive-timeout',
  'auth-method',
  'auth-proxy-set-headers',
  'auth-realm',
  'auth-request-redirect',
  'auth-response-headers',
  'auth-secret',
  'auth-secret-type',
  'auth-signin',
  'auth-signin-redirect-param',
  'auth-tls-error-page',
  'auth-tls-match-cn',
  'auth-tls-pass-certificate-to-upstream',
  'auth-tls-secret',
  'auth-tls-verify-client',
  'auth-tls-verify-depth',
  'auth-type',
  'auth-url',
  'satisfy',
  'enable-global-auth',
];

const CANARY = [
  'canary',
  'canary-by-cookie',
  'canary-by-header',
  'canary-by-header-pattern',
  'canary-by-header-value',
  'canary-weight',
  'canary-weight-total',
  'affinity-canary-behavior',
];

const SNIPPET = [
  'auth-snippet',
  'configuration-snippet',
  'modsecurity-snippet',
  'server-snippet',
  'stream-snippet',
];

const REGEX = ['use-regex'];

const NOT_HONOURED = [
  'affinity',
  'affinity-mode',
  'app-root',
  'backend-protocol',
  'client-body-buffer-size',
  'connection-proxy-header',
  'cors-allow-credentials',
  'cors-allow-headers',
  'cors-allow-methods',
  'cors-allow-origin',
  'cors-expose-headers',
  'cors-max-age',
  'custom-headers',
  'custom-http-errors',
  'default-backend',
  'disable-proxy-intercept-errors',
  'enable-access-log',
  'enable-cors',
  'enable-modsecurity',
  'enable-opentelemetry',
  'enable-owasp-core-rules',
  'enable-rewrite-log',
  'fastcgi-index',
  'fastcgi-params-configmap',
  'from-to-www-redirect',
  'http2-push-preload',
  'limit-allowlist',
  'limit-burst-multiplier',
  'limit-connections',
  'limit-rate',
  'limit-rate-after',
  'limit-rpm',
  'limit-rps',
  'limit-whitelist',
  'load-balance',
  'mirror-host',
  'mirror-request-body',
  'mirror-target',
  'modsecurity-transaction-id',
  'opentelemetry-operation-name',
  'opentelemetry-trust-incoming-span',
  'permanent-redirect',
  'permanent-redirect-code',
  'preserve-trailing-slash',
  'proxy-body-size',
  'proxy-buffer-size',
  'proxy-buffering',
  'proxy-buffers-number',
  'proxy-busy-buffers-size',
  'proxy-connect-timeout',
  'proxy-cookie-domain',
  'proxy-cookie-path',
  'proxy-http-version',
  'proxy-max-temp-file-size',
  'proxy-next-upstream',
  'proxy-next-upstream-timeout',
  'proxy-next-upstream-tries',
  'proxy-read-timeout',
  'proxy-redirect-from',
  'proxy-redirect-to',
  'proxy-request-buffering',
  'proxy-send-timeout',
  'proxy-ssl-ciphers',
  'proxy-ssl-name',
  'proxy-ssl-protocols',
  'proxy-ssl-secret',
  'proxy-ssl-server-name',
  'proxy-ssl-verify',
  'proxy-ssl-verify-depth',
  'relative-redirects',
  'rewrite-target',
  'server-alias',
  'service-upstream',
  'session-cookie-change-on-failure',
  'session-cookie-conditional-samesite-none',
  'session-cookie-domain',
  'session-cookie-expires',
  'session-cookie-max-age',
  'session-cookie-name',
  'session-cookie-path',
  'session-cookie-samesite',
  'session-cookie-secure',
  'ssl-ciphers',
  'ssl-passthrough',
  'ssl-prefer-server-ciphers',
  'temporal-redirect',
  'temporal-redirect-code',
  'upstream-hash-by',
  'upstream-hash-by-subset',
  'upstream-hash-by-subset-size',
  'upstream-vhost',
  'use-port-in-redirects',
  'x-forwarded-prefix',
];

function table(): ReadonlyMap<string, AnnotationKind> {
  const kinds: Array<[AnnotationKind, readonly string[]]> = [
    ['honoured', HONOURED],
    ['access', ACCESS],
    ['canary', CANARY],
    ['snippet', SNIPPET],
    ['regex', REGEX],
    ['not-honoured', NOT_HONOURED],
  ];
  const out = new Map<string, AnnotationKind>();
  for (const [kind, names] of kinds) for (const name of names) out.set(name, kind);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every known annotation (without the prefix), in name order, with its kind. */
export const KNOWN_ANNOTATIONS: ReadonlyMap<string, AnnotationKind> = table();

/** The metric label of an annotation that is not in the table. */
export const UNKNOWN_ANNOTATION_LABEL = 'unknown';
