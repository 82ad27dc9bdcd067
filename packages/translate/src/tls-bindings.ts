// Ingress `tls` sections → certificate bindings and the set of hosts that redirect to HTTPS.
import type { Diagnostic, Ingress, Secret, SourcedObject } from '@gateway/manifests';
import { CertificateCache, validityProblem } from './certificate-check.js';
import type { TlsBinding } from './config.js';
import { diagnosticFor, indexByName, namespaceOf, objectName } from './diagnostics.js';
import { compareStrings } from './ingress-order.js';
import type { TranslateOptions } from './options.js';

/** Hosts listed in a `tls` section: their plain-HTTP requests get a 308 (ingress-nginx's ssl-redirect). */
export class TlsHosts {
  readonly #hosts = new Set<string>();
  /** Whether any entry is a wildcard (asked for each of 50,000 rules: most clusters have none). */
  #wildcards = false;

  add(host: string): void {
    this.#hosts.add(host);
    if (host.startsWith('*.')) this.#wildcards = true;
  }

  /** An exact entry, or a `*.parent` entry for a host one label below `parent` (or that wildcard itself). */
  covers(host: string): boolean {
    if (host === '' || this.#hosts.size === 0) return false;
    if (this.#hosts.has(host)) return true;
    if (!this.#wildcards) return false;
    const dot = host.indexOf('.');
    return !host.startsWith('*.') && dot > 0 && this.#hosts.has(`*${host.slice(dot)}`);
  }
}

/** A Secret's pair as it will be served: PEM text and the certificate's validity, unix seconds. */
interface Pair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

interface Claim {
  readonly secret: string;
  readonly ingress: SourcedObject<Ingress>;
}

/**
 * `ingresses` oldest first. Hosts of a `tls[i]` without `hosts` are the Ingress's rule hosts
 * (ingress-nginx). A host named by two Secrets keeps the oldest Ingress's. A Secret that is missing or
 * holds no usable pair binds nothing (its hosts get the default certificate, and still redirect). Each
 * referenced Secret is checked once, however many Ingresses name it, and its problems are reported on it.
 */
export function bindTls(
  ingresses: readonly SourcedObject<Ingress>[],
  secrets: readonly SourcedObject<Secret>[],
  diagnostics: Diagnostic[],
  options: Pick<TranslateOptions, 'now' | 'certificateCache'> = {},
): { bindings: TlsBinding[]; hosts: TlsHosts } {
  const secretsByKey = indexByName(secrets);
  const cache = options.certificateCache ?? new CertificateCache();
  const hosts = new TlsHosts();
  const claims = new Map<string, Claim>();
  const bound = new Map<string, { pair: Pair; hosts: Set<string> }>();
  const unusable = new Set<string>();

  for (const ingress of ingresses) {
    const namespace = namespaceOf(ingress);
    (ingress.object.spec?.tls ?? []).forEach((tls, i) => {
      const listed = (tls.hosts ?? []).map((h) => h.toLowerCase());
      const tlsHosts = listed.length > 0 ? listed : ruleHosts(ingress.object);
      const fieldOf = (k: number): string =>
        listed.length > 0 ? `spec.tls[${i}].hosts[${k}]` : `spec.tls[${i}]`;
      for (const host of tlsHosts) hosts.add(host);
      if (tls.secretName === undefined || tls.secretName === '') return; // default certificate
      const key = `${namespace}/${tls.secretName}`;
      const warn = (field: string, message: string): void => {
        diagnostics.push(diagnosticFor(ingress, 'warning', field, message));
      };
      if (unusable.has(key)) return; // reported on the Secret already
      let entry = bound.get(key);
      if (entry === undefined) {
        const secret = secretsByKey.get(key);
        if (secret === undefined) {
          warn(`spec.tls[${i}].secretName`, `Secret ${key} not found: its hosts get the default certificate`);
          return;
        }
        const pair = checkSecret(secret, cache, options.now, diagnostics);
        if (pair === undefined) {
          unusable.add(key);
          return;
        }
        entry = { pair, hosts: new Set() };
        bound.set(key, entry);
      }
      tlsHosts.forEach((host, k) => {
        const claim = claims.get(host);
        if (claim === undefined) claims.set(host, { secret: key, ingress });
        else if (claim.secret !== key) {
          warn(
            fieldOf(k),
            `host "${host}" already uses Secret ${claim.secret} (Ingress ${objectName(claim.ingress)}, older): Secret ${key} not used for it`,
          );
          return;
        }
        entry.hosts.add(host);
      });
    });
  }

  const bindings: TlsBinding[] = [];
  for (const [key, { pair, hosts: names }] of bound) {
    if (names.size === 0) continue;
    const slash = key.indexOf('/');
    bindings.push({
      namespace: key.slice(0, slash),
      secretName: key.slice(slash + 1),
      hosts: [...names].sort(compareStrings),
      ...pair,
    });
  }
  // Only the pairs of this snapshot stay cached: a deleted or rotated Secret's text is let go.
  cache.sweep();
  bindings.sort(
    (a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.secretName, b.secretName),
  );
  return { bindings, hosts };
}

/** The distinct, lowercased hosts of an Ingress's rules, in order ('' left out). */
export function ruleHosts(ingress: Ingress): string[] {
  const hosts = new Set<string>();
  for (const rule of ingress.spec?.rules ?? []) if (rule.host) hosts.add(rule.host.toLowerCase());
  return [...hosts];
}

const DEFAULT_CERTIFICATE = 'the hosts naming this Secret get the default certificate';

/**
 * A referenced Secret's pair, parsed and checked, or undefined when it cannot be served; problems are
 * reported on the Secret. An expired or not-yet-valid certificate is served anyway, as ingress-nginx does
 * (it only logs "SSL certificate for server … expired"), so one late renewal does not take a site's
 * HTTPS down to a certificate that fails for every client, nor reject a whole standalone file.
 */
function checkSecret(
  secret: SourcedObject<Secret>,
  cache: CertificateCache,
  now: number | undefined,
  diagnostics: Diagnostic[],
): Pair | undefined {
  const report = (severity: 'error' | 'warning', field: string, message: string): void => {
    diagnostics.push(diagnosticFor(secret, severity, field, message));
  };
  const cert = readKey(secret.object, 'tls.crt');
  const key = readKey(secret.object, 'tls.key');
  for (const [name, read] of [
    ['tls.crt', cert],
    ['tls.key', key],
  ] as const) {
    if (read.pem === undefined)
      report('error', read.field, `${name} is missing or empty: ${DEFAULT_CERTIFICATE}`);
  }
  if (cert.pem === undefined || key.pem === undefined) return undefined;
  const checked = cache.check(cert.pem, key.pem);
  if (!checked.ok) {
    report(
      'error',
      checked.key === 'tls.crt' ? cert.field : key.field,
      `${checked.message}: ${DEFAULT_CERTIFICATE}`,
    );
    return undefined;
  }
  const late = now === undefined ? undefined : validityProblem(checked, now);
  if (late !== undefined) report('warning', cert.field, `${late}: served anyway`);
  return { certPem: cert.pem, keyPem: key.pem, notBefore: checked.notBefore, notAfter: checked.notAfter };
}

/**
 * One key of a Secret as PEM text (`stringData` wins over `data`, as on write), and the field it came from
 * (where a missing key is reported: `data`, the field the API server keeps).
 */
function readKey(secret: Secret, name: string): { pem: string | undefined; field: string } {
  const plain = secret.stringData?.[name];
  if (plain !== undefined && plain !== '') return { pem: plain, field: `stringData["${name}"]` };
  const field = `data["${name}"]`;
  const encoded = secret.data?.[name];
  if (encoded === undefined || encoded === '') return { pem: undefined, field };
  return { pem: Buffer.from(encoded, 'base64').toString('utf8'), field };
}
