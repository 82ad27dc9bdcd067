import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from './self-signed.js';

const notBefore = new Date('2026-12-03T10:20:30Z');
const notAfter = new Date('2027-12-03T10:20:30Z');
const made = selfSignedCertificate({
  commonName: 'Ingress Gateway Fake Certificate',
  dnsNames: ['ingress.local', 'b.test'],
  notBefore,
  notAfter,
});
const cert = new X509Certificate(made.certPem);

describe('selfSignedCertificate', () => {
  it('names its common name as subject and issuer, and its DNS names as subjectAltName', () => {
    expect(cert.subject).toBe('CN=Ingress Gateway Fake Certificate');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.subjectAltName).toBe('DNS:ingress.local, DNS:b.test');
  });

  it('is valid from notBefore to notAfter, to the second', () => {
    expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
  });

  it('writes a time from 2050 as GeneralizedTime (UTCTime ends with 2049)', () => {
    const late = selfSignedCertificate({
      commonName: 'x',
      dnsNames: ['x.test'],
      notBefore,
      notAfter: new Date('2051-01-02T03:04:05Z'),
    });
    expect(new Date(new X509Certificate(late.certPem).validTo).toISOString()).toBe(
      '2051-01-02T03:04:05.000Z',
    );
  });

  it('is signed by its own key, an EC P-256 key in PKCS#8', () => {
    const key = createPrivateKey(made.keyPem);
    expect(made.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('has a positive serial number of 16 bytes, a new one each time', () => {
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    const other = new X509Certificate(
      selfSignedCertificate({ commonName: 'x', dnsNames: [], notBefore, notAfter }).certPem,
    );
    expect(other.serialNumber).not.toBe(cert.serialNumber);
  });

  it("parses in openssl as an X.509 v3 server certificate with ingress-nginx's fake certificate's extensions", () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: made.certPem }).toString();
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s+DNS:ingress.local, DNS:b.test/);
    const dir = mkdtempSync(join(tmpdir(), 'self-signed-'));
    try {
      const file = join(dir, 'cert.pem');
      writeFileSync(file, made.certPem);
      const verified = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', file, file]);
      expect(verified.toString()).toBe(`${file}: OK\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
