// Ingress `tls` sections → certificate bindings and the set of hosts that redirect to HTTPS.
import type { Diagnostic, Ingress, Secret, SourcedObject } from '@gateway/manifests';
import type { TlsBinding } from './config.js';
import { diagnosticFor, indexByName, namespaceOf, objectName } from './diagnostics.js';
import { compareStrings } from './ingress-order.js';

/** Hosts listed in a `tls` section: their plain-HTTP requests get a 308 (ingress-nginx's ssl-redirect). */
export class TlsHosts {
  readonly #hosts = new Set<string>();

  add(host: string): void {
    this.#hosts.add(host);
  }

  /** An exact entry, or a `*.parent` entry for a host one label below `parent` (or that wildcard itself). */
  covers(host: string): boolean {
    if (host === '') return false;
    if (this.#hosts.has(host)) return true;
    const dot = host.indexOf('.');
    return !host.startsWith('*.') && dot > 0 && this.#hosts.has(`*${host.slice(dot)}`);
  }
}

interface Claim {
  readonly secret: string;
  readonly ingress: SourcedObject<Ingress>;
}

/**
 * `ingresses` oldest first. Hosts of a `tls[i]` without `hosts` are the Ingress's rule hosts
 * (ingress-nginx). A host named by two Secrets keeps the oldest Ingress's. A Secret that is missing or
 * holds no usable pair binds nothing (its hosts get the default certificate, and still redirect).
 */
export function bindTls(
  ingresses: readonly SourcedObject<Ingress>[],
  secrets: readonly SourcedObject<Secret>[],
  diagnostics: Diagnostic[],
): { bindings: TlsBinding[]; hosts: TlsHosts } {
  const secretsByKey = indexByName(secrets);
  const hosts = new TlsHosts();
  const claims = new Map<string, Claim>();
  const bound = new Map<string, { pair: { certPem: string; keyPem: string }; hosts: Set<string> }>();

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
      let entry = bound.get(key);
      if (entry === undefined) {
        const secret = secretsByKey.get(key);
        if (secret === undefined) {
          warn(`spec.tls[${i}].secretName`, `Secret ${key} not found: its hosts get the default certificate`);
          return;
        }
        const pair = readPair(secret.object);
        if (typeof pair === 'string') {
          warn(`spec.tls[${i}].secretName`, `Secret ${key} ${pair}: its hosts get the default certificate`);
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

/** `tls.crt` and `tls.key` as PEM text (`stringData` wins over `data`, as on write), or what is wrong. */
function readPair(secret: Secret): { certPem: string; keyPem: string } | string {
  const certPem = readKey(secret, 'tls.crt');
  const keyPem = readKey(secret, 'tls.key');
  const missing = [certPem === undefined ? 'tls.crt' : '', keyPem === undefined ? 'tls.key' : ''].filter(
    Boolean,
  );
  if (missing.length > 0) return `has no ${missing.join(' and ')}`;
  for (const [name, pem] of [
    ['tls.crt', certPem],
    ['tls.key', keyPem],
  ] as const) {
    if (!pem!.includes('-----BEGIN ')) return `has a ${name} that is not PEM`;
  }
  return { certPem: certPem!, keyPem: keyPem! };
}

function readKey(secret: Secret, name: string): string | undefined {
  const plain = secret.stringData?.[name];
  if (plain !== undefined && plain !== '') return plain;
  const encoded = secret.data?.[name];
  if (encoded === undefined || encoded === '') return undefined;
  return Buffer.from(encoded, 'base64').toString('utf8');
}
