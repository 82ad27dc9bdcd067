// Parses and checks a `tls.crt`/`tls.key` pair, so `--check` and every reload catch a bad Secret before the
// data plane sees it. Pure: node:crypto parsing is computation; the clock is an argument.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

/** A pair that parses and matches, with its validity period in unix seconds. */
export interface CertificateValidity {
  readonly ok: true;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Why a pair cannot be served, and which of its two keys is at fault. */
export interface CertificateProblem {
  readonly ok: false;
  readonly key: 'tls.crt' | 'tls.key';
  readonly message: string;
}

export type CertificateCheck = CertificateValidity | CertificateProblem;

/**
 * Parses both PEM texts and checks that the key belongs to the certificate (the leaf, the first one in
 * `tls.crt`; the rest is the chain). The validity period is returned, not judged: see `validityProblem`.
 */
export function checkCertificate(certPem: string, keyPem: string): CertificateCheck {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (e) {
    return { ok: false, key: 'tls.crt', message: `tls.crt is not a PEM certificate: ${reason(e)}` };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    return {
      ok: false,
      key: 'tls.key',
      message: `tls.key is not a PEM private key (or is encrypted, which is not supported): ${reason(e)}`,
    };
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(key);
  } catch {
    matches = false; // defensive: a key of another type should answer false, never throw out of translate
  }
  if (!matches) {
    return {
      ok: false,
      key: 'tls.key',
      message: 'tls.key does not match the certificate in tls.crt (their public keys differ)',
    };
  }
  return {
    ok: true,
    notBefore: Math.floor(x509.validFromDate.getTime() / 1000),
    notAfter: Math.floor(x509.validToDate.getTime() / 1000),
  };
}

/** What is wrong with the validity period at `now` (ms since epoch), if anything. */
export function validityProblem(validity: CertificateValidity, now: number): string | undefined {
  const seconds = Math.floor(now / 1000);
  if (validity.notAfter < seconds) return `certificate in tls.crt expired at ${iso(validity.notAfter)}`;
  if (validity.notBefore > seconds) {
    return `certificate in tls.crt is not valid before ${iso(validity.notBefore)}`;
  }
  return undefined;
}

/**
 * `checkCertificate` results by PEM text. Parsing costs 50–85 µs a pair (EC P-256 and RSA-2048 alike), so
 * 1,000 Secrets cost tens of milliseconds on every configuration change; a caller that keeps one cache
 * across translate() calls pays only for Secrets that changed. It holds results of a pure function only,
 * so whether an entry is cached never changes an outcome. `sweep()` drops the pairs not checked since the
 * previous sweep, so deleted Secrets do not stay in memory.
 */
export class CertificateCache {
  #entries = new Map<string, CertificateCheck>();
  #used = new Map<string, CertificateCheck>();

  check(certPem: string, keyPem: string): CertificateCheck {
    // '\0' cannot occur in PEM text, so the key is unambiguous.
    const id = `${certPem}\0${keyPem}`;
    let result = this.#used.get(id) ?? this.#entries.get(id);
    if (result === undefined) result = checkCertificate(certPem, keyPem);
    this.#used.set(id, result);
    return result;
  }

  /** Keeps only the pairs checked since the last sweep. */
  sweep(): void {
    this.#entries = this.#used;
    this.#used = new Map();
  }

  /** Pairs held (those of the last two rounds). */
  get size(): number {
    let n = this.#entries.size;
    for (const id of this.#used.keys()) if (!this.#entries.has(id)) n++;
    return n;
  }
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
