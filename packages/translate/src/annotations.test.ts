// ingress-nginx annotations end to end through translate(): what is reported, what is served.
import type { Diagnostic, KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  hit,
  ingress,
  ingressClass,
  path,
  rule,
  simpleIngress,
  snapshot,
  tls,
  tlsSecret,
  webService,
} from './builders.test-support.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const N = 'nginx.ingress.kubernetes.io/';
const services = ['web', 'other', 'fallback'].map((n) => webService(n));
const at = (s: number) => `2024-01-01T00:00:${String(s).padStart(2, '0')}Z`;
/** `name` on a.test / → web, with these ingress-nginx annotations (short names), created at second `s`. */
const annotated = (name: string, annotations: Record<string, string>, s = 10, to = 'web') =>
  simpleIngress(name, 'a.test', '/', to, 80, {
    creationTimestamp: at(s),
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${N}${k}`, v])),
  });
const run = (objects: KubeObject[], serveUnhonouredAccessAnnotations = false) =>
  translate(snapshot(...services, ...objects), defaultTranslateOptions({ serveUnhonouredAccessAnnotations }));
/** Diagnostics in short: `severity name field: message`. */
const short = (d: Diagnostic) => `${d.severity} ${d.namespace}/${d.name} ${d.field}: ${d.message}`;
const field = (name: string) => `metadata.annotations["${N}${name}"]`;

describe('annotation diagnostics', () => {
  const table: Array<{ name: string; annotations: Record<string, string>; expected: string[] }> = [
    {
      name: 'honoured ones say nothing',
      annotations: { 'ssl-redirect': 'false', 'force-ssl-redirect': 'False' },
      expected: [],
    },
    {
      name: 'not honoured',
      annotations: { 'proxy-body-size': '8m' },
      expected: [
        `warning default/x ${field('proxy-body-size')}: not honoured: the gateway does not implement it: ignored`,
      ],
    },
    {
      name: 'unknown, with a hint',
      annotations: { 'proxy-body-sise': '8m', 'zzzzzzzz-qqqq': '1' },
      expected: [
        `warning default/x ${field('proxy-body-sise')}: unknown ingress-nginx annotation (did you mean "${N}proxy-body-size"?): ignored`,
        `warning default/x ${field('zzzzzzzz-qqqq')}: unknown ingress-nginx annotation: ignored`,
      ],
    },
    {
      name: 'snippets, known or not',
      annotations: { 'configuration-snippet': 'return 200;', 'my-snippet': 'x' },
      expected: [
        `warning default/x ${field('configuration-snippet')}: snippets are never honoured: configuration as text is how CVE-2025-1974 became remote code execution: ignored`,
        `warning default/x ${field('my-snippet')}: snippets are never honoured: configuration as text is how CVE-2025-1974 became remote code execution: ignored`,
      ],
    },
    {
      name: 'invalid booleans: reported, and the default applies',
      annotations: { 'ssl-redirect': 'yes', canary: 'on' },
      expected: [
        `warning default/x ${field('canary')}: invalid boolean "on" (ingress-nginx reads booleans with Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False): the default, false, applies`,
        `warning default/x ${field('ssl-redirect')}: invalid boolean "yes" (ingress-nginx reads booleans with Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False): the default, true, applies`,
      ],
    },
    {
      name: 'canary "false" is no canary, use-regex "0" no regex',
      annotations: { canary: 'false', 'use-regex': '0' },
      expected: [],
    },
    {
      name: 'canary options without canary: "true"',
      annotations: { 'canary-weight': '10' },
      expected: [
        `warning default/x ${field('canary-weight')}: not honoured: "canary-weight" means nothing without "${N}canary": "true": ignored`,
      ],
    },
    {
      name: 'enable-global-auth "false" turns off a global auth there is none of',
      annotations: { 'enable-global-auth': 'false' },
      expected: [],
    },
    {
      name: 'satisfy and empty access values restrict nothing by themselves',
      annotations: { satisfy: 'any', 'whitelist-source-range': ' ' },
      expected: [
        `warning default/x ${field('satisfy')}: not honoured: "satisfy" only chooses how auth-* and source ranges combine, and each of those keeps the Ingress from being served by itself; alone it restricts nothing`,
        `warning default/x ${field('whitelist-source-range')}: not honoured: an empty value restricts nothing (ingress-nginx ignores it too)`,
      ],
    },
  ];
  it.each(table)('$name', ({ annotations, expected }) => {
    const result = run([annotated('x', annotations)]);
    expect(result.diagnostics.map(short)).toEqual(expected);
    expect(hit(result.config, 'a.test', '/')).toBe('default/x → default/web:80');
    expect(result.excluded).toEqual([]);
  });
});

const NOT_SERVED =
  'restricts access, which this gateway does not implement: the Ingress is NOT served (its rules and defaultBackend answer 503; --serve-unhonoured-access-annotations serves it without the restriction)';
const SERVED_OPEN =
  'restricts access, which this gateway does not implement: served WITHOUT the restriction because --serve-unhonoured-access-annotations';

describe('access-restricting annotations fail closed', () => {
  const restricting: Array<Record<string, string>> = [
    { 'auth-type': 'basic', 'auth-secret': 'basic-auth', 'auth-realm': 'Authentication Required' },
    { 'auth-url': 'http://auth.svc/verify' },
    { 'auth-signin': 'https://auth.test/start' },
    { 'auth-tls-secret': 'default/ca', 'auth-tls-verify-client': 'on' },
    { 'auth-tls-verify-depth': '1' },
    { 'whitelist-source-range': '10.0.0.0/8' },
    { 'allowlist-source-range': '10.0.0.0/8' },
    { 'denylist-source-range': '192.168.0.0/16' },
    { 'enable-global-auth': 'true' },
    { 'enable-global-auth': 'maybe' }, // invalid: ingress-nginx's default, true
  ];
  it.each(restricting)('%j: not served, its host and path answer 503', (annotations) => {
    const result = run([annotated('locked', annotations, 10), annotated('younger', {}, 20, 'other')]);
    expect(hit(result.config, 'a.test', '/')).toBe('default/locked → 503');
    expect(result.config.backends.has('default/web:80')).toBe(false);
    expect(result.excluded).toEqual([
      {
        namespace: 'default',
        name: 'locked',
        cause: 'access',
        annotations: Object.keys(annotations)
          .sort()
          .map((k) => `${N}${k}`),
      },
    ]);
    const notServed = result.diagnostics.filter((d) => d.message === NOT_SERVED);
    expect(notServed.map((d) => d.field)).toEqual(Object.keys(annotations).sort().map(field));
    // The younger Ingress's same path lost to it, as it would have in ingress-nginx.
    expect(
      result.diagnostics.some(
        (d) => d.name === 'younger' && /already served by Ingress default\/locked/.test(d.message),
      ),
    ).toBe(true);
    expect(result.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
  });

  it.each(restricting)('%j with serveUnhonouredAccessAnnotations: served, and says so', (annotations) => {
    const result = run([annotated('locked', annotations)], true);
    expect(hit(result.config, 'a.test', '/')).toBe('default/locked → default/web:80');
    expect(result.excluded).toEqual([]);
    expect(result.diagnostics.filter((d) => d.message === SERVED_OPEN).map((d) => d.field)).toEqual(
      Object.keys(annotations).sort().map(field),
    );
  });

  it('its defaultBackend (host default and catch-all) answers 503 too; its TLS certificate stays bound', () => {
    const locked = { annotations: { [`${N}auth-url`]: 'http://auth/' }, creationTimestamp: at(1) };
    const result = run([
      tlsSecret('cert'),
      ingress('catch', { defaultBackend: backend('fallback', 80) }, locked),
      ingress(
        'site',
        {
          defaultBackend: backend('fallback', 80),
          tls: [tls('cert', 'b.test')],
          rules: [rule('b.test', path('/app', backend('web', 80)))],
        },
        locked,
      ),
      ingress(
        'open',
        {
          defaultBackend: backend('other', 80),
          rules: [rule('b.test', path('/open', backend('other', 80)))],
        },
        { creationTimestamp: at(5) },
      ),
    ]);
    expect(hit(result.config, 'b.test', '/app')).toBe('default/site → 503 (308)');
    expect(hit(result.config, 'b.test', '/else')).toBe('default/site → 503 (308)');
    expect(hit(result.config, 'b.test', '/open')).toBe('default/open → default/other:80 (308)');
    expect(hit(result.config, 'c.test', '/')).toBe('default/catch → 503');
    expect(result.config.tls.map((b) => b.hosts)).toEqual([['b.test']]);
    expect(result.excluded.map((e) => e.name)).toEqual(['catch', 'site']);
    expect(result.config.summary.ingresses).toBe(1);
  });
});

describe('canary Ingresses are left out', () => {
  it('an older canary is no candidate: the main Ingress serves, with no conflict reported', () => {
    const result = run([
      annotated('canary', { canary: 'true', 'canary-weight': '100' }, 1, 'other'),
      annotated('main', {}, 20),
    ]);
    expect(hit(result.config, 'a.test', '/')).toBe('default/main → default/web:80');
    expect(result.config.backends.has('default/other:80')).toBe(false);
    expect(result.excluded).toEqual([
      { namespace: 'default', name: 'canary', cause: 'canary', annotations: [`${N}canary`] },
    ]);
    expect(result.diagnostics.map(short)).toEqual([
      `warning default/canary ${field('canary')}: canary Ingresses are not implemented: this Ingress is left out (not served, and no candidate against the Ingress it is the canary of)`,
    ]);
    expect(result.unhonouredAnnotations).toEqual(
      new Map([
        ['canary', 1],
        ['canary-weight', 1],
      ]),
    );
  });

  it('"True" and "1" are canaries too; a canary alone serves nothing', () => {
    for (const value of ['True', '1', 't']) {
      const result = run([annotated('canary', { canary: value })]);
      expect(hit(result.config, 'a.test', '/')).toBe('404');
      expect(result.config.tls).toEqual([]);
    }
  });
});

describe('ssl-redirect and force-ssl-redirect are read as Go booleans', () => {
  const table: Array<{ annotations: Record<string, string>; expected: string }> = [
    { annotations: { 'ssl-redirect': 'False' }, expected: 'default/x → default/web:80' },
    { annotations: { 'ssl-redirect': '0' }, expected: 'default/x → default/web:80' },
    { annotations: { 'ssl-redirect': 'no' }, expected: 'default/x → default/web:80 (308)' },
    { annotations: {}, expected: 'default/x → default/web:80 (308)' },
  ];
  it.each(table)('TLS host with $annotations', ({ annotations, expected }) => {
    const ing = annotated('x', annotations);
    ing.spec!.tls = [tls('cert', 'a.test')];
    expect(hit(run([tlsSecret('cert'), ing]).config, 'a.test', '/')).toBe(expected);
  });
  it.each(['TRUE', '1', 't'])('force-ssl-redirect %j redirects a host without TLS', (value) => {
    expect(hit(run([annotated('x', { 'force-ssl-redirect': value })]).config, 'a.test', '/')).toBe(
      'default/x → default/web:80 (308)',
    );
  });
});

describe('regular-expression paths are matched literally, and reported', () => {
  const regexPath = (p: string, host: string) =>
    `ingress-nginx matches "${p}" as the case-insensitive regular expression ^${p} (${host}); regular expressions are not implemented: matched literally, as a Prefix path`;
  it('use-regex turns regex on for every path of the host, whichever Ingress it belongs to', () => {
    const regex = ingress(
      'regex',
      { rules: [rule('a.test', path('/foo/.*', backend('web', 80)))] },
      { annotations: { [`${N}use-regex`]: 'true' }, creationTimestamp: at(1) },
    );
    const plain = simpleIngress('plain', 'a.test', '/bar', 'other', 80, { creationTimestamp: at(2) });
    const elsewhere = simpleIngress('elsewhere', 'b.test', '/bar', 'other', 80, { creationTimestamp: at(3) });
    const result = run([regex, plain, elsewhere]);
    const cause = `"${N}use-regex" of Ingress default/regex turns regex on for every path of host "a.test"`;
    expect(result.diagnostics.map(short)).toEqual([
      `warning default/regex ${field('use-regex')}: not honoured: regular-expression paths are not implemented; each path is matched literally, as its pathType says`,
      `warning default/regex spec.rules[0].http.paths[0].path: ${regexPath('/foo/.*', cause)}`,
      `warning default/plain spec.rules[0].http.paths[0].path: ${regexPath('/bar', cause)}`,
    ]);
    expect(hit(result.config, 'a.test', '/foo/.*')).toBe('default/regex → default/web:80');
    expect(hit(result.config, 'a.test', '/foo/x')).toBe('404');
  });

  it('rewrite-target turns it on where it differs from the path (ingress-nginx needsRewrite)', () => {
    const same = annotated('same', { 'rewrite-target': '/' });
    expect(same.spec!.rules![0]!.http!.paths[0]!.path).toBe('/');
    expect(run([same]).diagnostics.map((d) => d.field)).toEqual([field('rewrite-target')]);
    const other = annotated('other', { 'rewrite-target': '/$2' });
    const cause = `"${N}rewrite-target" of Ingress default/other turns regex on for every path of host "a.test"`;
    expect(run([other]).diagnostics.map(short)).toEqual([
      `warning default/other ${field('rewrite-target')}: not honoured: the gateway does not implement it: ignored`,
      `warning default/other spec.rules[0].http.paths[0].path: ${regexPath('/', cause)}`,
    ]);
  });
});

describe('unhonoured annotation counts (the metric’s data)', () => {
  it('counts Ingresses per known annotation, unknown names as "unknown"; honoured and class-ignored ones not at all', () => {
    const theirs = ingress(
      'theirs',
      { ingressClassName: 'nginx', rules: [rule('z.test', path('/', backend('web', 80)))] },
      {
        annotations: { [`${N}proxy-body-size`]: '1m' },
      },
    );
    const ours = (name: string, annotations: Record<string, string>, s: number) => ({
      ...annotated(name, annotations, s),
      spec: { ingressClassName: 'gw', rules: [rule(`${name}.test`, path('/', backend('web', 80)))] },
    });
    const result = run([
      ingressClass('gw', 'k8s.io/ingress-gateway'),
      ingressClass('nginx', 'k8s.io/ingress-nginx'),
      theirs,
      ours(
        'a',
        { 'proxy-body-size': '1m', 'ssl-redirect': 'false', 'what-is-this': 'x', 'auth-url': 'http://a/' },
        1,
      ),
      ours('b', { 'proxy-body-size': '2m', 'another-typo': 'y', 'server-snippet': 'z' }, 2),
    ]);
    expect(result.unhonouredAnnotations).toEqual(
      new Map([
        ['auth-url', 1],
        ['proxy-body-size', 2],
        ['server-snippet', 1],
        ['unknown', 2],
      ]),
    );
    expect(result.ignored).toEqual([
      {
        namespace: 'default',
        name: 'theirs',
        reason:
          'class "nginx" is not ours (its controller is k8s.io/ingress-nginx; ours is k8s.io/ingress-gateway)',
      },
    ]);
  });
});
