// The default ("fake") certificate, made with node:crypto: an EC P-256 key and a self-signed X.509 v3
// certificate written in DER by hand. It is one fixed shape (RFC 5280 §4.1), so a dozen DER encoders
// do; the `selfsigned` package it replaces pulled @peculiar/x509, pkijs and asn1js into every serving
// process, 4-6 MB of its resident memory (measured) for a certificate made once at start.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface SelfSignedOptions {
  commonName: string;
  /** DNS names of the subjectAltName extension. */
  dnsNames: readonly string[];
  notBefore: Date;
  notAfter: Date;
}

/** A new key (PKCS#8 PEM) and a certificate (PEM) for it, signed by itself with ECDSA SHA-256. */
export function selfSignedCertificate(opts: SelfSignedOptions): { keyPem: string; certPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(opts.commonName))));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serialNumber()),
    ECDSA_WITH_SHA256,
    name, // issuer: itself
    sequence(time(opts.notBefore), time(opts.notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...EXTENSIONS_BEFORE_NAMES, subjectAltName(opts.dnsNames))),
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded (r, s), as X.509 wants it
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: pem('CERTIFICATE', certificate),
  };
}

const COMMON_NAME = '2.5.4.3';

// basicConstraints (critical, cA false), keyUsage (critical: digitalSignature, keyEncipherment) and
// extKeyUsage serverAuth: what ingress-nginx's fake certificate carries.
const EXTENSIONS_BEFORE_NAMES = [
  extension('2.5.29.19', true, sequence()),
  extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x05, 0xa0])),
  extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))),
];

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function subjectAltName(dnsNames: readonly string[]): Buffer {
  // GeneralName dNSName: [2] IMPLICIT IA5String.
  return extension('2.5.29.17', false, sequence(...dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'ascii')))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  const parts = [oid(id)];
  if (critical) parts.push(Buffer.from([0x01, 0x01, 0xff]));
  parts.push(tlv(0x04, value));
  return sequence(...parts);
}

/** 16 random bytes, positive and without a leading zero byte (RFC 5280 §4.1.2.2: at most 20). */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(at: Date): Buffer {
  const iso = at.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  return at.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f];
    for (let rest = arc >>> 7; rest > 0; rest >>>= 7) base128.unshift((rest & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(unsigned: Buffer): Buffer {
  return tlv(0x02, unsigned[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), unsigned]) : unsigned);
}

function utf8String(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

function sequence(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

function explicit(tag: number, inner: Buffer): Buffer {
  return tlv(0xa0 | tag, inner);
}

/** Tag, definite length (short form under 128, else long form), value. */
function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  let head: number[];
  if (n < 0x80) head = [tag, n];
  else if (n < 0x100) head = [tag, 0x81, n];
  else if (n < 0x10000) head = [tag, 0x82, n >> 8, n & 0xff];
  else head = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(head), value]);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
