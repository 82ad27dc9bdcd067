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
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const run = (...objects: KubeObject[]) =>
  translate(snapshot(webService('web'), ...objects), defaultTranslateOptions());
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

  it.each([
    ['a missing Secret', [] as KubeObject[], 'not found'],
    [
      'a Secret without tls.key',
      [secret('cert', { data: { 'tls.crt': Buffer.from(CERT_PEM).toString('base64') } })],
      'no tls.key',
    ],
    [
      'a Secret whose tls.crt is not PEM',
      [secret('cert', { stringData: { 'tls.crt': 'garbage', 'tls.key': KEY_PEM } })],
      'not PEM',
    ],
  ])('%s: a warning, no binding, the host still redirects (default certificate)', (_n, objects, text) => {
    const { config, diagnostics } = run(...objects, site('s', ['a.test'], [tls('cert', 'a.test')]));
    expect(config.tls).toEqual([]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        name: 's',
        field: 'spec.tls[0].secretName',
        message: expect.stringContaining(text),
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
