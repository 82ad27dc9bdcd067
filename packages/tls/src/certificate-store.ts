// Certificates for the HTTPS server: one SecureContext per Secret, chosen per handshake by SNI
// (exact host, then the one-label wildcard of its parent domain, else a self-signed default).
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { selfSignedCertificate } from './self-signed.js';

/** A certificate bound to hosts; structurally the `TlsBinding` that translate() produces. */
export interface CertificateBinding {
  readonly namespace: string;
  readonly secretName: string;
  /** Hosts from the Ingress `tls[].hosts` naming this Secret; `*.example.com` is a one-label wildcard. */
  readonly hosts: readonly string[];
  readonly certPem: string;
  readonly keyPem: string;
}

/** A problem with one binding. `error`: the binding is left out; `warning`: it is served anyway. */
export interface TlsDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly namespace: string;
  readonly secretName: string;
  readonly message: string;
}

/** One row of the `ssl_expire_time_seconds` metric. */
export interface CertificateExpiry {
  readonly namespace: string;
  readonly secretName: string;
  readonly host: string;
  /** The certificate's notAfter, unix seconds. */
  readonly notAfter: number;
}

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/** What an `https`/`tls` server needs; spread it into the server options. */
export interface TlsServerOptions {
  readonly SNICallback: SniCallback;
  readonly key: string;
  readonly cert: string;
  readonly minVersion: 'TLSv1.2';
  readonly ALPNProtocols: string[];
  /** Session-ticket keys: every listening socket and worker of the gateway resumes the others' sessions. */
  readonly ticketKeys: Buffer;
}

export interface CertificateStoreOptions {
  /** Common name of the self-signed default certificate. */
  readonly defaultCommonName?: string;
}

export const DEFAULT_COMMON_NAME = 'Ingress Gateway Fake Certificate';

const MIN_VERSION = 'TLSv1.2';

/** A parsed certificate/key pair; cached by PEM so an unchanged Secret costs nothing on reload. */
interface Parsed {
  readonly context: SecureContext;
  readonly x509: X509Certificate;
  readonly notAfter: number;
}

/**
 * Everything a handshake reads, immutable: part of the data plane's active configuration, so a
 * configuration swap replaces routes and certificates in one reference assignment.
 */
export class CertificateTables {
  static readonly EMPTY = new CertificateTables(new Map(), new Map(), []);

  constructor(
    private readonly exact: ReadonlyMap<string, SecureContext>,
    /** Keyed by parent domain: `*.example.com` → `example.com`. */
    private readonly wildcard: ReadonlyMap<string, SecureContext>,
    private readonly expiryRows: readonly CertificateExpiry[],
  ) {}

  /** The Secret's context for an SNI name (exact host, then one-label wildcard), or undefined. */
  lookup(servername: string): SecureContext | undefined {
    if (servername === '') return undefined;
    const host = normalise(servername);
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    const dot = host.indexOf('.');
    // `*.example.com` covers exactly one label: `a.example.com`, never `a.b.example.com` nor `example.com`.
    return dot > 0 ? this.wildcard.get(host.slice(dot + 1)) : undefined;
  }

  /** True when a Secret (exact or wildcard), not the default, answers for `host`. */
  hasCertificateFor(host: string): boolean {
    return this.lookup(host) !== undefined;
  }

  /** notAfter per served (Secret, host), for `ssl_expire_time_seconds`. */
  expiry(): CertificateExpiry[] {
    return this.expiryRows.slice();
  }
}

/**
 * Compiles certificate bindings into `CertificateTables`, keeping parsed pairs between compiles so an
 * unchanged Secret costs nothing, and holds the self-signed default certificate.
 */
export class CertificateStore {
  readonly defaultKeyPem: string;
  readonly defaultCertPem: string;
  /**
   * TLS session-ticket keys (48 bytes: name, HMAC and AES keys), made once with the default certificate
   * and given to every worker with it, as nginx's master makes them for its workers, so that a session
   * resumes on any listening socket of any worker. Without them the sockets of one process do not
   * resume each other's sessions (each tls.Server makes its own keys: acceptor-sockets.test.ts);
   * node:cluster workers were seen to resume each other's anyway, but nothing Node documents says so.
   * They last as long as the process, as nginx's do without `ssl_session_ticket_key` files.
   */
  readonly ticketKeys: Buffer;
  private readonly defaultContext: SecureContext;
  /** PEM pair → parsed; rebuilt on each compile with only the pairs still in use. */
  private parsed = new Map<string, Parsed>();

  private constructor(keyPem: string, certPem: string, ticketKeys: Buffer) {
    this.defaultKeyPem = keyPem;
    this.defaultCertPem = certPem;
    this.ticketKeys = ticketKeys;
    this.defaultContext = createSecureContext({ key: keyPem, cert: certPem, minVersion: MIN_VERSION });
  }

  /**
   * Generates the default certificate: EC P-256 (about 15 ms, against 100–200 ms for RSA-2048), signed
   * with SHA-256, valid for a year, as ingress-nginx's "Kubernetes Ingress Controller Fake Certificate".
   */
  static async create(opts: CertificateStoreOptions = {}): Promise<CertificateStore> {
    const notBefore = new Date();
    const notAfter = new Date(notBefore);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 1);
    const { keyPem, certPem } = selfSignedCertificate({
      commonName: opts.defaultCommonName ?? DEFAULT_COMMON_NAME,
      dnsNames: ['ingress.local'],
      notBefore,
      notAfter,
    });
    return new CertificateStore(keyPem, certPem, randomBytes(48));
  }

  /**
   * A store whose default certificate and session-ticket keys are another store's (`defaultKeyPem`,
   * `defaultCertPem`, `ticketKeys`): the gateway's worker processes all answer with the primary's.
   */
  static withDefault(keyPem: string, certPem: string, ticketKeys: Uint8Array): CertificateStore {
    if (ticketKeys.length !== 48) throw new Error(`ticket keys are 48 bytes, not ${ticketKeys.length}`);
    return new CertificateStore(keyPem, certPem, Buffer.from(ticketKeys));
  }

  /**
   * The tables for these bindings. Bindings that cannot be served are reported and left out; the rest
   * are in. When two Secrets claim one host, the first binding wins (translate orders them oldest first).
   */
  compile(bindings: readonly CertificateBinding[]): {
    certificates: CertificateTables;
    diagnostics: TlsDiagnostic[];
  } {
    const diagnostics: TlsDiagnostic[] = [];
    const parsed = new Map<string, Parsed>();
    const failed = new Map<string, string>();
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const expiry: CertificateExpiry[] = [];
    const owner = new Map<string, string>();
    const reported = new Set<string>();

    for (const b of bindings) {
      const secret = `${b.namespace}/${b.secretName}`;
      const report = (severity: TlsDiagnostic['severity'], message: string): void => {
        // The same Secret often appears once per Ingress; say each thing once.
        const id = `${severity}\0${secret}\0${message}`;
        if (reported.has(id)) return;
        reported.add(id);
        diagnostics.push({ severity, namespace: b.namespace, secretName: b.secretName, message });
      };
      if (b.hosts.length === 0) {
        report('error', 'no hosts are bound to this certificate');
        continue;
      }
      const pemKey = `${b.certPem}\0${b.keyPem}`;
      let entry = parsed.get(pemKey);
      if (entry === undefined) {
        const error = failed.get(pemKey);
        if (error !== undefined) {
          report('error', error);
          continue;
        }
        const result = this.parsed.get(pemKey) ?? parse(b.certPem, b.keyPem);
        if (typeof result === 'string') {
          failed.set(pemKey, result);
          report('error', result);
          continue;
        }
        entry = result;
        parsed.set(pemKey, entry);
      }

      for (const raw of b.hosts) {
        const host = normalise(raw);
        const star = host.startsWith('*.');
        const parent = star ? host.slice(2) : host;
        if (parent === '' || parent.includes('*')) {
          report(
            'error',
            `host "${raw}" is not a valid host name (a wildcard must be the whole first label)`,
          );
          continue;
        }
        const previous = owner.get(host);
        if (previous !== undefined) {
          if (previous !== secret) {
            report(
              'warning',
              `host "${host}" is already served by Secret ${previous}; this binding is ignored for it`,
            );
          }
          continue;
        }
        owner.set(host, secret);
        (star ? wildcard : exact).set(parent, entry.context);
        expiry.push({ namespace: b.namespace, secretName: b.secretName, host, notAfter: entry.notAfter });
        // Go's VerifyHostname, which ingress-nginx uses, ignores the subject CN: so do we.
        if (entry.x509.checkHost(host, { subject: 'never' }) === undefined) {
          report(
            'warning',
            `certificate does not cover host "${host}" (subjectAltName: ${entry.x509.subjectAltName ?? 'none'}); served anyway`,
          );
        }
      }
    }

    this.parsed = parsed;
    return { certificates: new CertificateTables(exact, wildcard, expiry), diagnostics };
  }

  /**
   * Server options whose SNI callback reads `current()` at each handshake (the tables of the active
   * configuration), falling back to the default certificate; case-insensitive.
   */
  serverOptions(current: () => CertificateTables): TlsServerOptions {
    const fallback = this.defaultContext;
    return {
      SNICallback: (servername, cb) => cb(null, current().lookup(servername) ?? fallback),
      key: this.defaultKeyPem,
      cert: this.defaultCertPem,
      minVersion: MIN_VERSION,
      ALPNProtocols: ['http/1.1'],
      ticketKeys: this.ticketKeys,
    };
  }
}

function normalise(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Parses and checks a PEM pair; a string is the reason it cannot be served. */
function parse(certPem: string, keyPem: string): Parsed | string {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (e) {
    return `tls.crt is not a PEM certificate: ${reason(e)}`;
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    return `tls.key is not a PEM private key (or is encrypted): ${reason(e)}`;
  }
  if (!x509.checkPrivateKey(key)) return 'tls.key does not match the certificate in tls.crt';
  let context: SecureContext;
  try {
    // The whole tls.crt is passed so intermediate certificates are sent with the leaf.
    context = createSecureContext({ key: keyPem, cert: certPem, minVersion: MIN_VERSION });
  } catch (e) {
    return `certificate cannot be used: ${reason(e)}`;
  }
  return { context, x509, notAfter: Math.floor(x509.validToDate.getTime() / 1000) };
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
