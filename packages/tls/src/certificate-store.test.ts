import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateBinding,
  CertificateStore,
  CertificateTables,
  DEFAULT_COMMON_NAME,
  type TlsDiagnostic,
} from './index.js';

interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
  readonly fingerprint: string;
}

async function makeCert(commonName: string, dnsNames: readonly string[] = [commonName]): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) }],
  });
  return {
    certPem: pems.cert,
    keyPem: pems.private,
    fingerprint: new X509Certificate(pems.cert).fingerprint256,
  };
}

function bind(namespace: string, secretName: string, hosts: readonly string[], pem: Pem): CertificateBinding {
  return { namespace, secretName, hosts, certPem: pem.certPem, keyPem: pem.keyPem };
}

interface Handshake {
  readonly fingerprint: string;
  readonly commonName: string;
  readonly alpn: string | false | null;
  readonly protocol: string | null;
}

async function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  try {
    await once(socket, 'secureConnect');
    const peer = socket.getPeerCertificate();
    return {
      fingerprint: peer.fingerprint256,
      commonName: String(peer.subject.CN),
      alpn: socket.alpnProtocol,
      protocol: socket.getProtocol(),
    };
  } finally {
    socket.destroy();
  }
}

let store: CertificateStore;
/** The tables a data plane would hold: replaced by each `update`. */
let current = CertificateTables.EMPTY;
function update(bindings: CertificateBinding[]): TlsDiagnostic[] {
  const { certificates, diagnostics } = store.compile(bindings);
  current = certificates;
  return diagnostics;
}
let server: tls.Server;
let port: number;
let defaultFingerprint: string;
let exact: Pem;
let wildcard: Pem;
let other: Pem;
let replacement: Pem;

beforeAll(async () => {
  [store, exact, wildcard, other, replacement] = await Promise.all([
    CertificateStore.create(),
    makeCert('a.example.com'),
    makeCert('*.example.com'),
    makeCert('other.test'),
    makeCert('a.example.com'),
  ]);
  defaultFingerprint = new X509Certificate(store.defaultCertPem).fingerprint256;
  server = tls.createServer(
    store.serverOptions(() => current),
    (socket) => socket.end(),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.close();
});

describe('CertificateStore: SNI over real handshakes', () => {
  beforeAll(() => {
    const diagnostics = update([
      bind('default', 'exact', ['a.example.com'], exact),
      bind('default', 'wild', ['*.example.com'], wildcard),
      bind('other', 'other', ['Other.Test'], other),
    ]);
    expect(diagnostics).toEqual([]);
  });

  const cases: ReadonlyArray<{ name: string; servername: string | undefined; expected: string }> = [
    { name: 'exact host', servername: 'a.example.com', expected: 'exact' },
    { name: 'exact host, other case', servername: 'A.Example.COM', expected: 'exact' },
    { name: 'exact beats wildcard', servername: 'a.example.com', expected: 'exact' },
    { name: 'wildcard, one label', servername: 'b.example.com', expected: 'wild' },
    { name: 'wildcard, other case', servername: 'B.EXAMPLE.com', expected: 'wild' },
    { name: 'wildcard does not cover two labels', servername: 'a.b.example.com', expected: 'default' },
    { name: 'wildcard does not cover its parent', servername: 'example.com', expected: 'default' },
    { name: 'host bound in mixed case', servername: 'other.test', expected: 'other' },
    { name: 'unknown host', servername: 'unknown.invalid', expected: 'default' },
    { name: 'no SNI (IP address target)', servername: undefined, expected: 'default' },
  ];
  it.each(cases)('$name: $servername → $expected', async ({ servername, expected }) => {
    const fingerprints: Record<string, string> = {
      exact: exact.fingerprint,
      wild: wildcard.fingerprint,
      other: other.fingerprint,
      default: defaultFingerprint,
    };
    const result = await handshake(port, servername === undefined ? {} : { servername });
    expect(result.fingerprint).toBe(fingerprints[expected]);
  });

  it('presents the default certificate with the fake common name', async () => {
    const result = await handshake(port);
    expect(result.commonName).toBe(DEFAULT_COMMON_NAME);
  });

  it('negotiates ALPN http/1.1 and TLS 1.2 or later', async () => {
    const result = await handshake(port, { servername: 'a.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(result.alpn).toBe('http/1.1');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(result.protocol);
  });

  it('refuses TLS 1.1', async () => {
    // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal comes from the server.
    const attempt = handshake(port, {
      servername: 'a.example.com',
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    await expect(attempt).rejects.toThrow(/alert protocol version/);
  });

  it('answers lookups without a handshake', () => {
    expect(current.hasCertificateFor('a.example.com')).toBe(true);
    expect(current.hasCertificateFor('Z.Example.Com')).toBe(true);
    expect(current.hasCertificateFor('a.b.example.com')).toBe(false);
    expect(current.hasCertificateFor('unknown.invalid')).toBe(false);
    expect(current.hasCertificateFor('')).toBe(false);
  });

  it('reports expiry per served host', () => {
    const notAfter = Math.floor(new X509Certificate(exact.certPem).validToDate.getTime() / 1000);
    expect(current.expiry()).toContainEqual({
      namespace: 'default',
      secretName: 'exact',
      host: 'a.example.com',
      notAfter,
    });
    expect(current.expiry().map((e) => e.host)).toEqual(['a.example.com', '*.example.com', 'other.test']);
  });
});

describe('CertificateStore: updates', () => {
  it('changes the presented certificate without restarting the server', async () => {
    update([bind('default', 'exact', ['a.example.com'], exact)]);
    expect((await handshake(port, { servername: 'a.example.com' })).fingerprint).toBe(exact.fingerprint);
    update([bind('default', 'exact', ['a.example.com'], replacement)]);
    expect((await handshake(port, { servername: 'a.example.com' })).fingerprint).toBe(
      replacement.fingerprint,
    );
    update([]);
    expect((await handshake(port, { servername: 'a.example.com' })).fingerprint).toBe(defaultFingerprint);
  });

  it('reuses the secure context of an unchanged Secret', () => {
    const contextFor = (host: string): tls.SecureContext | undefined => {
      let context: tls.SecureContext | undefined;
      store
        .serverOptions(() => current)
        .SNICallback(host, (_err, ctx) => {
          context = ctx;
        });
      return context;
    };
    update([bind('default', 'exact', ['a.example.com'], exact)]);
    const first = contextFor('a.example.com');
    update([bind('default', 'exact', ['a.example.com', 'b.example.com'], exact)]);
    expect(contextFor('a.example.com')).toBe(first);
    expect(contextFor('b.example.com')).toBe(first);
  });

  it('leaves out a bad binding with a diagnostic and serves the rest', async () => {
    const diagnostics = update([
      {
        namespace: 'bad',
        secretName: 'garbage',
        hosts: ['g.test'],
        certPem: 'not a pem',
        keyPem: exact.keyPem,
      },
      { namespace: 'bad', secretName: 'badkey', hosts: ['k.test'], certPem: exact.certPem, keyPem: 'nope' },
      {
        namespace: 'bad',
        secretName: 'mismatch',
        hosts: ['m.test'],
        certPem: exact.certPem,
        keyPem: other.keyPem,
      },
      bind('bad', 'nohosts', [], exact),
      bind('good', 'other', ['other.test'], other),
    ]);
    expect(diagnostics.map((d) => [d.severity, `${d.namespace}/${d.secretName}`])).toEqual([
      ['error', 'bad/garbage'],
      ['error', 'bad/badkey'],
      ['error', 'bad/mismatch'],
      ['error', 'bad/nohosts'],
    ]);
    expect(diagnostics[2]?.message).toMatch(/does not match/);
    for (const host of ['g.test', 'k.test', 'm.test']) {
      expect(current.hasCertificateFor(host)).toBe(false);
    }
    expect((await handshake(port, { servername: 'other.test' })).fingerprint).toBe(other.fingerprint);
    expect(current.expiry().map((e) => e.secretName)).toEqual(['other']);
  });

  it('serves a certificate that does not cover the host, with a warning', async () => {
    const diagnostics = update([bind('default', 'exact', ['a.example.com', 'elsewhere.test'], exact)]);
    expect(diagnostics).toEqual([
      {
        severity: 'warning',
        namespace: 'default',
        secretName: 'exact',
        message: expect.stringContaining('does not cover host "elsewhere.test"'),
      },
    ]);
    expect((await handshake(port, { servername: 'elsewhere.test' })).fingerprint).toBe(exact.fingerprint);
  });

  it('checks a wildcard binding against a wildcard SAN', () => {
    expect(update([bind('default', 'wild', ['*.example.com'], wildcard)])).toEqual([]);
    const diagnostics = update([bind('default', 'exact', ['*.example.com'], exact)]);
    expect(diagnostics.map((d) => d.severity)).toEqual(['warning']);
  });

  it('keeps the first Secret for a host two Secrets claim, and says so', () => {
    const diagnostics = update([
      bind('default', 'first', ['a.example.com'], exact),
      bind('default', 'second', ['a.example.com'], replacement),
      bind('default', 'first', ['a.example.com'], exact),
    ]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        secretName: 'second',
        message: expect.stringContaining('first'),
      }),
    ]);
    expect(current.expiry().map((e) => e.secretName)).toEqual(['first']);
  });

  it('reports an invalid host and serves the others', () => {
    const diagnostics = update([bind('default', 'exact', ['a.*.example.com', 'a.example.com'], exact)]);
    expect(diagnostics.map((d) => d.severity)).toEqual(['error']);
    expect(current.hasCertificateFor('a.example.com')).toBe(true);
  });
});

describe('CertificateStore with https', () => {
  it('serves an https request with the bound certificate', async () => {
    update([bind('default', 'exact', ['a.example.com'], exact)]);
    const httpsServer = https.createServer(
      store.serverOptions(() => current),
      (_req, res) => res.end('ok'),
    );
    httpsServer.listen(0, '127.0.0.1');
    await once(httpsServer, 'listening');
    try {
      const { port: httpsPort } = httpsServer.address() as AddressInfo;
      const req = https.get({
        host: '127.0.0.1',
        port: httpsPort,
        servername: 'a.example.com',
        headers: { host: 'a.example.com' },
        rejectUnauthorized: false,
        agent: false,
      });
      const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
      const socket = res.socket as tls.TLSSocket;
      expect(socket.getPeerCertificate().fingerprint256).toBe(exact.fingerprint);
      let body = '';
      for await (const chunk of res) body += String(chunk);
      expect(body).toBe('ok');
    } finally {
      httpsServer.close();
    }
  });

  it('uses a custom default common name', async () => {
    const custom = await CertificateStore.create({ defaultCommonName: 'Test Default' });
    expect(new X509Certificate(custom.defaultCertPem).subject).toBe('CN=Test Default');
    const x509 = new X509Certificate(custom.defaultCertPem);
    const days = (x509.validToDate.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(360);
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
  });
});

describe('withDefault', () => {
  it('serves the default certificate and the session-ticket keys of another store', async () => {
    const original = await CertificateStore.create();
    const copy = CertificateStore.withDefault(
      original.defaultKeyPem,
      original.defaultCertPem,
      new Uint8Array(original.ticketKeys),
    );
    expect(copy.defaultCertPem).toBe(original.defaultCertPem);
    expect(copy.ticketKeys.equals(original.ticketKeys)).toBe(true);
    expect(copy.serverOptions(() => copy.compile([]).certificates).ticketKeys).toBe(copy.ticketKeys);
    expect(copy.compile([]).certificates.expiry()).toEqual([]);
  });

  it('makes 48 bytes of session-ticket keys of its own, and refuses others of another length', async () => {
    const a = await CertificateStore.create();
    const b = await CertificateStore.create();
    expect(a.ticketKeys).toHaveLength(48);
    expect(a.ticketKeys.equals(b.ticketKeys)).toBe(false);
    expect(() => CertificateStore.withDefault(a.defaultKeyPem, a.defaultCertPem, new Uint8Array(32))).toThrow(
      /48 bytes, not 32/,
    );
  });
});
