import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CERT_PEM, KEY_PEM } from './builders.test-support.js';
import { CertificateCache, checkCertificate, validityProblem } from './certificate-check.js';

// The builders' pair: self-signed for a.test and *.a.test, valid 2024-01-01 to 2034-01-01. Fixed text, as the
// clock is an argument: one validity window serves the expired and not-yet-valid cases.
const EC_CERT = CERT_PEM;
const EC_KEY = KEY_PEM;
const RSA_CERT = `-----BEGIN CERTIFICATE-----
MIICxDCCAaygAwIBAgIJQUHJWU+jG0YkMA0GCSqGSIb3DQEBCwUAMBExDzANBgNV
BAMTBmEudGVzdDAeFw0yNDAxMDEwMDAwMDBaFw0zNDAxMDEwMDAwMDBaMBExDzAN
BgNVBAMTBmEudGVzdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAL35
jD4Wp0AFLdkFGpreqap8UBopzPH4ccHIG0HvEvibVfevdINmjWz04KK6rckE4pYV
6b9OELmbzaMaBiYGTmfFOJ0I/ggzc9DTSiU+5S+MC2LtqFFTmoYb/+cRA0AmMjqX
s0ZmJakMGsbR3nL14wKpE9lP0ulcbxpFPaWtWDHEYfYGBQPxa3UZJL5xI7csERPz
ZqTe/RE/4hpA2POm4U7ruyfhLiDQosK5XLbOUwvlgfC2V9bfFsSKqydXsln+iXPg
sOm8Pi1FR75sij3cbarTg2acvHIrLvftX3mvXAy6UUmBSbSeJbptdkmHAfSe9fmC
lE+QmxXi4hNrT1LrKhUCAwEAAaMfMB0wGwYDVR0RBBQwEoIGYS50ZXN0gggqLmEu
dGVzdDANBgkqhkiG9w0BAQsFAAOCAQEACbV5JV/P2ewl7C2BnPkED96W8MRnQmNj
CaNAcGH1wsTtR8mECzUHMA9BmR+W9noGub3NxhRlh1ZrzXz1E09lFc/Q3TWuWlOl
XhlgzSRD2AyuSBTiew+k9y/1DPemqWykkkNVs0JSWHE8zXMsVy8lscaJphuzLiXJ
x4MIiMNs/jp1eVO+QVhO5NkPplXehXok7Sh88l78Iz5KU1sCVlVaUuv2uFfutfUr
/dYcc//9RoceKZtBA6ZcakEvMMMhAfsV5pZIFKzOSVpkdvJKtoHFCDlCrWBuClUL
yWS0UWE+BINsq8WehWsFBCeqAe21x/C/7Cteoq659h+C2tiHuLLefw==
-----END CERTIFICATE-----
`;
const RSA_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC9+Yw+FqdABS3Z
BRqa3qmqfFAaKczx+HHByBtB7xL4m1X3r3SDZo1s9OCiuq3JBOKWFem/ThC5m82j
GgYmBk5nxTidCP4IM3PQ00olPuUvjAti7ahRU5qGG//nEQNAJjI6l7NGZiWpDBrG
0d5y9eMCqRPZT9LpXG8aRT2lrVgxxGH2BgUD8Wt1GSS+cSO3LBET82ak3v0RP+Ia
QNjzpuFO67sn4S4g0KLCuVy2zlML5YHwtlfW3xbEiqsnV7JZ/olz4LDpvD4tRUe+
bIo93G2q04NmnLxyKy737V95r1wMulFJgUm0niW6bXZJhwH0nvX5gpRPkJsV4uIT
a09S6yoVAgMBAAECggEAIcLLMk6GzwkMloyCZ6Lp7o8Uki27CwZuuvQjqfJBghZi
7vdKor5zJDmZgTnhP//i/66pwXJvZPjkENgDXzcQMH9bWgb61DzGmIYwH1Hf23UN
Ifnfx4IuzCYGMotyszAGjaSfesOU7kelK4+o82+wteyTxzMZJZkkcnv7Imodqgww
uX+aVPCwy5oxulItcghbxBNWI1me2bb3CBTKjAb5raJuxE8IWgF6r76rKG/f+Pio
uku8rJY0aFWhooyAbay8yMn6kYCMK6yxKh72AAVkz3DY4IwvURGAvu6kJdE0CNYt
62vKU00zZQ68T96lQajIO2Ibsp7tzpo0aq1XjxxwmQKBgQDkR6qOInTem/+8Qr+f
FKKZuoUFF91HqEr6QCCBYhKBPQCpGLr0L2ib7gf4xgzFfcCTSW1U5pofWdSm4oyN
rwMlgkH+cQN9Pl3hH0cDzJKoCf6gyTZhLlTzs9BIigr20Udsk45N8FgcEsJxkaE5
kXuP4ImR8KuD2x9dLINs+q28OQKBgQDVCx+v3S7xepE+UEBUa/xpWtMeMX29UMhE
43SVpS+DhwWTV6wpBzspFnu/2V5DmaMZyntoXCKiHDDTxUKmrCeAHHFh2nt9kzA0
E46y2Uppwmc1BYfQSdjRez4vTsmbIfrWH+JtRA+7GjXfEbMJzLb2BBV3cbOp+EoQ
7jsGdwjUvQKBgQDG6M9rVAjDo+h9EShJJEDedNDNdFLiyniyf8gTFPKM3CvELAFT
HjAnlowpr+CXAREZBaUXkmv/H1YVKFhSaIn0WADLBYyFyB8jNw6497teYn8VeN5C
ZY2uYCL/4hDVqdtzd0tLDD6qD4qQTNXQBL1Gy97zZGL+3KMCm/PUtMVHuQKBgQDO
NQgkpwgq/6HaGL9Ld4JHT3wNO4YjWi+eTjKoLc0BmA1TgobG55LhwDtjhLfy4qC1
9ADjEFsNYg/4ynQq83MAU4eDWYAyGeeMYGm8vwmBuINBFOtSNkhA6vNTwwTsvUUX
QKFfdYNsbIA8O9t53sYw9d75T/rAx+yY2p4TMeBAWQKBgBpUO5aCYhWbeQgsNsFr
Ri+U4744DsMtDIuyNF76Cizik20/FWuXXidD1cUqscsDdbbdbX/uA19Zb+IldfG/
E1f8etO0qbYdiExZzOTCn6tYzougeWeMroI3a5A13O8WECsWn65PcoVNWexjBJQo
zQUumH090BZNH2Smq5F35nJX
-----END PRIVATE KEY-----
`;
const NOT_BEFORE = Date.UTC(2024, 0, 1) / 1000;
const NOT_AFTER = Date.UTC(2034, 0, 1) / 1000;

const OTHER_EC_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const ENCRYPTED_EC_KEY = createPrivateKey(EC_KEY)
  .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
  .toString();

describe('checkCertificate', () => {
  it.each([
    ['EC P-256', EC_CERT, EC_KEY],
    ['RSA-2048', RSA_CERT, RSA_KEY],
    ['a chain: the leaf is checked, the rest follows it', `${EC_CERT}${RSA_CERT}`, EC_KEY],
  ])('%s: a matching pair gives its validity period in unix seconds', (_n, cert, key) => {
    expect(checkCertificate(cert, key)).toEqual({ ok: true, notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  });

  it.each([
    ['garbage in tls.crt', 'garbage', EC_KEY, 'tls.crt', 'tls.crt is not a PEM certificate'],
    ['a PEM of the wrong type in tls.crt', EC_KEY, EC_KEY, 'tls.crt', 'tls.crt is not a PEM certificate'],
    [
      'a truncated certificate',
      EC_CERT.replace(/\n[^\n]+\n-----END/, '\n-----END'),
      EC_KEY,
      'tls.crt',
      'tls.crt is not a PEM certificate',
    ],
    ['garbage in tls.key', EC_CERT, 'garbage', 'tls.key', 'tls.key is not a PEM private key'],
    ['a certificate in tls.key', EC_CERT, EC_CERT, 'tls.key', 'tls.key is not a PEM private key'],
    ['an encrypted key', EC_CERT, ENCRYPTED_EC_KEY, 'tls.key', 'or is encrypted'],
    ['the key of another certificate', EC_CERT, RSA_KEY, 'tls.key', 'does not match'],
    ['another key of the same type', EC_CERT, OTHER_EC_KEY, 'tls.key', 'does not match'],
    ['an EC key for an RSA certificate', RSA_CERT, EC_KEY, 'tls.key', 'does not match'],
  ])('%s: a problem on %s', (_n, cert, key, field, text) => {
    expect(checkCertificate(cert, key)).toEqual({
      ok: false,
      key: field,
      message: expect.stringContaining(text),
    });
  });
});

describe('validityProblem', () => {
  const validity = { ok: true, notBefore: NOT_BEFORE, notAfter: NOT_AFTER } as const;
  it.each([
    ['inside the period', Date.UTC(2030, 0, 1), undefined],
    ['at notBefore', NOT_BEFORE * 1000, undefined],
    ['at notAfter (inclusive, RFC 5280 §4.1.2.5)', NOT_AFTER * 1000 + 999, undefined],
    ['after notAfter', NOT_AFTER * 1000 + 1000, 'expired at 2034-01-01T00:00:00.000Z'],
    ['before notBefore', NOT_BEFORE * 1000 - 1, 'not valid before 2024-01-01T00:00:00.000Z'],
  ])('%s', (_n, now, expected) => {
    const problem = validityProblem(validity, now);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });
});

describe('CertificateCache', () => {
  it('answers as checkCertificate does, and keeps only the pairs checked since the last sweep', () => {
    const cache = new CertificateCache();
    expect(cache.check(EC_CERT, EC_KEY)).toEqual(checkCertificate(EC_CERT, EC_KEY));
    expect(cache.check(EC_CERT, RSA_KEY)).toEqual(checkCertificate(EC_CERT, RSA_KEY));
    const first = cache.check(EC_CERT, EC_KEY);
    expect(cache.check(EC_CERT, EC_KEY)).toBe(first); // the same result object: not parsed again
    cache.sweep();
    expect(cache.size).toBe(2);
    expect(cache.check(EC_CERT, EC_KEY)).toBe(first); // kept across one sweep when used again
    cache.sweep();
    expect(cache.size).toBe(1); // the mismatched pair was not used in the last round
    cache.sweep();
    expect(cache.size).toBe(0);
  });
});
