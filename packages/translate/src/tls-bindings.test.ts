import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  CERT_PEM,
  hit,
  ingress,
  KEY_PEM,
  path,
  rule,
  secret,
  simpleIngress,
  snapshot,
  tls,
  tlsSecret,
  webService,
} from './builders.test-support.js';
import { CertificateCache } from './certificate-check.js';
import { defaultTranslateOptions, type TranslateOptions } from './options.js';
import { translate } from './translate.js';

// CERT_PEM/KEY_PEM: self-signed EC P-256 for a.test and *.a.test, valid 2024-01-01 to 2034-01-01;
// the clock is an option, so this one window serves the expired and not-yet-valid cases too.
const NOT_BEFORE = Date.UTC(2024, 0, 1) / 1000;
const NOT_AFTER = Date.UTC(2034, 0, 1) / 1000;
const OTHER_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const ENCRYPTED_KEY = createPrivateKey(KEY_PEM)
  .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
  .toString();
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

const runWith = (options: Partial<TranslateOptions>, ...objects: KubeObject[]) =>
  translate(snapshot(webService('web'), ...objects), defaultTranslateOptions(options));
const run = (...objects: KubeObject[]) => runWith({}, ...objects);
const at = (s: number) => ({ creationTimestamp: `2024-01-01T00:00:${String(s).padStart(2, '0')}Z` });
/** An Ingress with rules for `hosts` (/ → web) and the given tls sections. */
const site = (name: string, hosts: string[], tlsSections: ReturnType<typeof tls>[], m = {}) =>
  ingress(name, { tls: tlsSections, rules: hosts.map((h) => rule(h, path('/', backend('web', 80)))) }, m);

describe('TLS bindings', () => {
  it('a Secret named by tls[i] binds its certificate and key (base64 decoded) to the listed hosts', () => {
    const { config, diagnostics } = run(
      tlsSecret('cert'),
      site('s', ['a.test', 'b.test'], [tls('cert', 'B.test', 'a.test')]),
    );
    expect(diagnostics).toEqual([]);
    expect(config.tls).toEqual([
      {
        namespace: 'default',
        secretName: 'cert',
        hosts: ['a.test', 'b.test'],
        certPem: CERT_PEM,
        keyPem: KEY_PEM,
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      },
    ]);
  });

  it('stringData is read as plain text', () => {
    const { config } = run(
      secret('cert', { stringData: { 'tls.crt': CERT_PEM, 'tls.key': KEY_PEM } }),
      site('s', ['a.test'], [tls('cert', 'a.test')]),
    );
    expect(config.tls.map((b) => [b.certPem, b.keyPem])).toEqual([[CERT_PEM, KEY_PEM]]);
  });

  it('tls[i] without hosts applies to every rule host of its Ingress (ingress-nginx)', () => {
    const { config } = run(tlsSecret('cert'), site('s', ['a.test', 'b.test'], [tls('cert')]));
    expect(config.tls.map((b) => b.hosts)).toEqual([['a.test', 'b.test']]);
    expect(hit(config, 'b.test', '/')).toBe('default/s → default/web:80 (308)');
  });

  it('hosts of all Ingresses naming one Secret merge into one binding', () => {
    const { config } = run(
      tlsSecret('cert'),
      site('one', ['a.test'], [tls('cert', 'a.test')]),
      site('two', ['b.test'], [tls('cert', 'b.test')]),
    );
    expect(config.tls.map((b) => [b.secretName, b.hosts])).toEqual([['cert', ['a.test', 'b.test']]]);
  });

  it('a host named by two Secrets keeps the oldest Ingress’s; the other is reported on its hosts field', () => {
    const { config, diagnostics } = run(
      tlsSecret('new'),
      tlsSecret('old'),
      site('young', ['c.test'], [tls('new', 'c.test', 'a.test')], at(20)),
      site('elder', ['a.test'], [tls('old', 'a.test')], at(10)),
    );
    expect(config.tls.map((b) => [b.secretName, b.hosts])).toEqual([
      ['new', ['c.test']],
      ['old', ['a.test']],
    ]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        name: 'young',
        field: 'spec.tls[0].hosts[1]',
        message: expect.stringContaining('default/old'),
      }),
    ]);
  });

  it('a missing Secret: a warning on the Ingress, no binding, the host still redirects (default certificate)', () => {
    const { config, diagnostics } = run(site('s', ['a.test'], [tls('cert', 'a.test')]));
    expect(config.tls).toEqual([]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        kind: 'Ingress',
        name: 's',
        field: 'spec.tls[0].secretName',
        message: 'Secret default/cert not found: its hosts get the default certificate',
      }),
    ]);
    expect(hit(config, 'a.test', '/')).toBe('default/s → default/web:80 (308)');
  });

  it('a Secret in another namespace is not used', () => {
    const { config, diagnostics } = run(
      tlsSecret('cert', CERT_PEM, KEY_PEM, { namespace: 'other' }),
      site('s', ['a.test'], [tls('cert')]),
    );
    expect(config.tls).toEqual([]);
    expect(diagnostics).toHaveLength(1);
  });

  it('tls[i] without secretName: no binding, no warning, redirect on', () => {
    const { config, diagnostics } = run(site('s', ['a.test'], [tls(undefined, 'a.test')]));
    expect(diagnostics).toEqual([]);
    expect(config.tls).toEqual([]);
    expect(hit(config, 'a.test', '/')).toBe('default/s → default/web:80 (308)');
  });
});

// Until these were checked here, a bad pair passed `--check` and only failed when the data plane applied
// it; a missing key and a tls.crt without "-----BEGIN " were warnings on the Ingress.
describe('TLS Secrets that cannot be served: an error on the Secret, no binding, the hosts still redirect', () => {
  const crt = (pem: string) => ({ 'tls.crt': b64(pem) });
  const key = (pem: string) => ({ 'tls.key': b64(pem) });
  const table: Array<[string, KubeObject, string, string]> = [
    ['no tls.key', secret('cert', { data: crt(CERT_PEM) }), 'data["tls.key"]', 'tls.key is missing or empty'],
    [
      'an empty tls.crt',
      secret('cert', { data: { 'tls.crt': '', ...key(KEY_PEM) } }),
      'data["tls.crt"]',
      'tls.crt is missing or empty',
    ],
    [
      'garbage in tls.crt',
      tlsSecret('cert', 'garbage', KEY_PEM),
      'data["tls.crt"]',
      'tls.crt is not a PEM certificate',
    ],
    [
      'garbage in stringData: the field it came from',
      secret('cert', { stringData: { 'tls.crt': CERT_PEM, 'tls.key': 'garbage' } }),
      'stringData["tls.key"]',
      'tls.key is not a PEM private key',
    ],
    ['an encrypted key', tlsSecret('cert', CERT_PEM, ENCRYPTED_KEY), 'data["tls.key"]', 'or is encrypted'],
    [
      'the key of another certificate',
      tlsSecret('cert', CERT_PEM, OTHER_KEY),
      'data["tls.key"]',
      'tls.key does not match the certificate in tls.crt',
    ],
  ];

  it.each(table)('%s', (_n, bad, field, text) => {
    const { config, diagnostics } = run(
      bad,
      site('one', ['a.test'], [tls('cert', 'a.test')], at(1)),
      site('two', ['b.test'], [tls('cert', 'b.test')], at(2)),
    );
    expect(config.tls).toEqual([]);
    // Once, on the Secret, however many Ingresses name it; nothing on the Ingresses.
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'error',
        kind: 'Secret',
        namespace: 'default',
        name: 'cert',
        field,
        message: expect.stringContaining(text),
      }),
    ]);
    expect(diagnostics[0]?.message).toMatch(/: the hosts naming this Secret get the default certificate$/);
    expect(hit(config, 'a.test', '/')).toBe('default/one → default/web:80 (308)');
    expect(hit(config, 'b.test', '/')).toBe('default/two → default/web:80 (308)');
  });

  it('both keys missing: one error for each', () => {
    const { diagnostics } = run(secret('cert', { data: {} }), site('s', ['a.test'], [tls('cert')]));
    expect(diagnostics.map((d) => [d.severity, d.kind, d.field])).toEqual([
      ['error', 'Secret', 'data["tls.crt"]'],
      ['error', 'Secret', 'data["tls.key"]'],
    ]);
  });

  it('the diagnostic carries the Secret’s file and line', () => {
    const { diagnostics } = run(tlsSecret('cert', CERT_PEM, OTHER_KEY), site('s', ['a.test'], [tls('cert')]));
    // builders: webService is object 0, the Secret object 1 at line 11 of test.yaml.
    expect(diagnostics).toEqual([expect.objectContaining({ file: 'test.yaml', line: 11, kind: 'Secret' })]);
  });

  it('one broken Secret leaves the others bound', () => {
    const { config, diagnostics } = run(
      tlsSecret('bad', CERT_PEM, OTHER_KEY),
      tlsSecret('good'),
      site('s', ['a.test', 'b.test'], [tls('bad', 'a.test'), tls('good', 'b.test')]),
    );
    expect(config.tls.map((b) => [b.secretName, b.hosts])).toEqual([['good', ['b.test']]]);
    expect(diagnostics.map((d) => `${d.kind} ${d.name}`)).toEqual(['Secret bad']);
  });
});

describe('TLS Secrets outside their validity period: a warning on the Secret, served anyway (ingress-nginx)', () => {
  it.each([
    [
      'expired',
      Date.UTC(2034, 0, 1, 0, 0, 1),
      'certificate in tls.crt expired at 2034-01-01T00:00:00.000Z: served anyway',
    ],
    [
      'not yet valid',
      Date.UTC(2023, 11, 31),
      'certificate in tls.crt is not valid before 2024-01-01T00:00:00.000Z: served anyway',
    ],
  ])('%s', (_n, now, message) => {
    const { config, diagnostics } = runWith(
      { now },
      tlsSecret('cert'),
      site('one', ['a.test'], [tls('cert', 'a.test')]),
      site('two', ['b.test'], [tls('cert', 'b.test')]),
    );
    expect(config.tls.map((b) => [b.secretName, b.hosts, b.notBefore, b.notAfter])).toEqual([
      ['cert', ['a.test', 'b.test'], NOT_BEFORE, NOT_AFTER],
    ]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        kind: 'Secret',
        name: 'cert',
        field: 'data["tls.crt"]',
        message,
      }),
    ]);
  });

  it.each([
    ['inside the period', { now: Date.UTC(2030, 0, 1) }],
    ['without a clock: not checked', {}],
  ])('%s: no diagnostic', (_n, options) => {
    const { config, diagnostics } = runWith(options, tlsSecret('cert'), site('s', ['a.test'], [tls('cert')]));
    expect(diagnostics).toEqual([]);
    expect(config.tls).toHaveLength(1);
  });
});

describe('certificate parsing cost', () => {
  /** Counts what bindTls asks of the cache. */
  class CountingCache extends CertificateCache {
    checks = 0;
    override check(certPem: string, keyPem: string) {
      this.checks++;
      return super.check(certPem, keyPem);
    }
  }

  it('a Secret named by 100 Ingresses is checked once', () => {
    const cache = new CountingCache();
    const sites = Array.from({ length: 100 }, (_, i) => site(`s${i}`, [`h${i}.a.test`], [tls('cert')]));
    const { config } = runWith({ certificateCache: cache }, tlsSecret('cert'), ...sites);
    expect(cache.checks).toBe(1);
    expect(config.tls[0]?.hosts).toHaveLength(100);
  });

  it('a cache kept across calls gives the same result, and lets go of Secrets no longer referenced', () => {
    const cache = new CertificateCache();
    const objects = [
      tlsSecret('cert'),
      tlsSecret('bad', CERT_PEM, OTHER_KEY),
      site('s', ['a.test', 'b.test'], [tls('cert', 'a.test'), tls('bad', 'b.test')]),
    ];
    const fresh = run(...objects);
    const first = runWith({ certificateCache: cache }, ...objects);
    const second = runWith({ certificateCache: cache }, ...objects);
    for (const r of [first, second]) {
      expect(r.config.tls).toEqual(fresh.config.tls);
      expect(r.diagnostics).toEqual(fresh.diagnostics);
    }
    expect(cache.size).toBe(2);
    runWith({ certificateCache: cache }, tlsSecret('cert'), site('s', ['a.test'], [tls('cert')]));
    runWith({ certificateCache: cache }, tlsSecret('cert'), site('s', ['a.test'], [tls('cert')]));
    expect(cache.size).toBe(1);
  });
});

describe('TLS redirect', () => {
  const table: Array<{ name: string; tlsHosts: string[]; requests: Array<[string, boolean]> }> = [
    {
      name: 'an exact TLS host',
      tlsHosts: ['a.example.com'],
      requests: [
        ['a.example.com', true],
        ['b.example.com', false],
      ],
    },
    {
      name: 'a wildcard TLS host covers hosts one label below it, and the wildcard rule itself',
      tlsHosts: ['*.example.com'],
      requests: [
        ['a.example.com', true],
        ['x.a.example.com', false],
        ['example.com', false],
        ['wild.example.com', true], // served by the *.example.com rule
      ],
    },
    {
      name: 'an exact TLS host does not cover a wildcard rule',
      tlsHosts: ['wild.example.com'],
      requests: [['w2.example.com', false]],
    },
  ];

  it.each(table)('$name', ({ tlsHosts, requests }) => {
    const rules = ['a.example.com', 'b.example.com', 'x.a.example.com', 'example.com', '*.example.com'];
    const { config } = run(
      tlsSecret('cert'),
      site('s', rules, [tls('cert', ...tlsHosts)]),
      simpleIngress('any', undefined, '/', 'web'),
    );
    for (const [host, redirect] of requests)
      expect(config.routes.match(host, '/')?.tlsRedirect, host).toBe(redirect);
  });

  it('a TLS host of one Ingress redirects the routes of another Ingress for that host', () => {
    const { config } = run(
      tlsSecret('cert'),
      site('tls-only', [], [tls('cert', 'a.test')]),
      simpleIngress('app', 'a.test', '/app', 'web'),
    );
    expect(hit(config, 'a.test', '/app')).toBe('default/app → default/web:80 (308)');
  });

  it('ingress-nginx annotations: ssl-redirect "false" serves plain HTTP, force-ssl-redirect "true" redirects without TLS', () => {
    const { config } = run(
      tlsSecret('cert'),
      site('no-redirect', ['a.test'], [tls('cert', 'a.test')], {
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
      }),
      site('forced', ['b.test'], [], {
        annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' },
      }),
    );
    expect(config.routes.match('a.test', '/')?.tlsRedirect).toBe(false);
    expect(config.routes.match('b.test', '/')?.tlsRedirect).toBe(true);
  });

  it('rules without host never redirect', () => {
    const { config } = run(
      tlsSecret('cert'),
      site('s', ['a.test'], [tls('cert', 'a.test')]),
      simpleIngress('any', undefined, '/', 'web'),
    );
    expect(hit(config, 'other.test', '/')).toBe('default/any → default/web:80');
  });
});
