// translate keeps what it derives from one object (paths, annotation review, backend, route) for as long
// as that object lives. Each step below replaces, adds or removes one object and keeps the others, as the
// cluster cache does; the result must equal the translation of fresh copies of the same objects (which
// hit no memo), and routes whose inputs did not change must be the same objects as before.
import type { Ingress, KubeObject, SourcedObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  ingress,
  ingressClass,
  path,
  rule,
  slice,
  snapshotOf,
  tls,
  tlsSecret,
  webService,
} from './builders.test-support.js';
import type { Route } from './config.js';
import { defaultTranslateOptions, type TranslateOptions } from './options.js';
import { translate } from './translate.js';

const AUTH = { 'nginx.ingress.kubernetes.io/auth-url': 'http://auth.test/check' };

const blogSpec: NonNullable<Ingress['spec']> = {
  rules: [rule('c.test', path('/', backend('web', 80)), path('/x', backend('gone', 80)))],
};

const start: Record<string, KubeObject> = {
  class: ingressClass('gw', 'k8s.io/ingress-gateway', true),
  web: webService('web'),
  api: webService('api', [
    { name: 'http', port: 80, targetPort: 8080 },
    { name: 'admin', port: 9000, targetPort: 9000 },
  ]),
  webSlice: slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]),
  apiSlice: slice(
    'api-1',
    'api',
    [{ addresses: ['10.0.1.1'] }],
    [
      { name: 'http', port: 8080 },
      { name: 'admin', port: 9000 },
    ],
  ),
  cert: tlsSecret('a-cert'),
  shop: ingress('shop', {
    tls: [tls('a-cert', 'a.test')],
    rules: [
      rule('a.test', path('/', backend('web', 80)), path('/api', backend('api', 'http'), 'Exact')),
      rule('b.test', path('/', backend('api', 9000)), path('/web', backend('web', 'http'))),
    ],
  }),
  blog: ingress('blog', blogSpec),
};

/** One change each; `undefined` removes the object. */
const steps: Array<[string, Record<string, KubeObject | undefined>]> = [
  [
    'a slice changes',
    { webSlice: slice('web-1', 'web', [{ addresses: ['10.0.0.9'] }], [{ name: 'http', port: 8080 }]) },
  ],
  ['a Service renames its port', { web: webService('web', [{ name: 'www', port: 80, targetPort: 8080 }]) }],
  ['the missing Service appears', { gone: webService('gone') }],
  ['the TLS Secret goes (no more redirect)', { cert: undefined }],
  ['it comes back', { cert: tlsSecret('a-cert') }],
  [
    'another Ingress lists b.test under tls',
    { secure: ingress('secure', { tls: [tls('a-cert', 'b.test')] }) },
  ],
  ['an Ingress gains an access annotation', { blog: ingress('blog', blogSpec, { annotations: AUTH }) }],
  ['a Service goes', { api: undefined }],
  [
    'a new Ingress takes a path of another',
    { late: ingress('late', { rules: [rule('c.test', path('/', backend('web', 80)))] }) },
  ],
  ['the older one goes', { blog: undefined }],
];

function sourcedMap(objects: Record<string, KubeObject>, order: Map<string, number>): SourcedObject[] {
  return Object.entries(objects).map(([name, object]) => {
    if (!order.has(name)) order.set(name, order.size);
    const n = order.get(name)!;
    return { object, source: { file: 'test.yaml', line: n * 10 + 1, order: n } };
  });
}

function observe(items: readonly SourcedObject[], options: TranslateOptions) {
  const { config, diagnostics, excluded } = translate(snapshotOf(items), options);
  return {
    rules: config.rules,
    backends: [...config.backends.entries()],
    endpoints: [...config.endpoints.entries()],
    tls: config.tls,
    summary: config.summary,
    diagnostics,
    excluded,
    requests: ['a.test/', 'a.test/api', 'b.test/', 'b.test/web', 'c.test/', 'c.test/x'].map((r) => {
      const slash = r.indexOf('/');
      return config.routes.match(r.slice(0, slash), r.slice(slash));
    }),
  };
}

const routeNamed = (rules: ReturnType<typeof observe>['rules'], host: string, p: string): Route =>
  rules.rules.find((r) => r.host === host && r.path === p)!.target;

describe('translate across rebuilds that keep unchanged objects', () => {
  for (const serveUnhonouredAccessAnnotations of [false, true]) {
    it(`equals a fresh translation at every step (serve unhonoured access: ${serveUnhonouredAccessAnnotations})`, () => {
      const options = defaultTranslateOptions({
        serveUnhonouredAccessAnnotations,
        allowLoopbackExternalName: true,
      });
      const order = new Map<string, number>();
      const current: Record<string, KubeObject> = { ...start };
      let items = sourcedMap(current, order);
      let previous = observe(items, options);
      expect(previous).toEqual(observe(structuredClone(items), options));
      for (const [, change] of steps) {
        const kept = new Map(items.map((item, i) => [Object.keys(current)[i]!, item]));
        for (const [name, object] of Object.entries(change)) {
          if (object === undefined) delete current[name];
          else current[name] = object;
        }
        // Unchanged objects stay the same SourcedObject, as the cluster cache hands them over.
        items = sourcedMap(current, order).map((item, i) => {
          const name = Object.keys(current)[i]!;
          return name in change ? item : kept.get(name)!;
        });
        const now = observe(items, options);
        expect(now).toEqual(observe(structuredClone(items), options));
        previous = now;
      }
      expect(previous.rules.rules.length).toBeGreaterThan(0);
    });
  }

  it('keeps a route object when nothing it reads changed, and makes a new one when something did', () => {
    const options = defaultTranslateOptions();
    const order = new Map<string, number>();
    const items = sourcedMap(start, order);
    const before = observe(items, options).rules;
    // Only a slice changes: every route is the same object (its bound metric series carry over).
    const sliceChanged = items.map((item) =>
      item.object === start.webSlice
        ? {
            ...item,
            object: slice('web-1', 'web', [{ addresses: ['10.0.0.7'] }], [{ name: 'http', port: 8080 }]),
          }
        : item,
    );
    const afterSlice = observe(sliceChanged, options).rules;
    expect(routeNamed(afterSlice, 'a.test', '/')).toBe(routeNamed(before, 'a.test', '/'));
    expect(routeNamed(afterSlice, 'b.test', '/')).toBe(routeNamed(before, 'b.test', '/'));
    // Another Ingress lists b.test under tls: b.test now redirects, so its routes are new; a.test's are kept.
    const secure = ingress('secure', { tls: [tls('a-cert', 'b.test')] });
    const covered = [...items, { object: secure, source: { file: 'test.yaml', line: 999, order: 99 } }];
    const afterTls = observe(covered, options).rules;
    expect(routeNamed(before, 'b.test', '/').tlsRedirect).toBe(false);
    expect(routeNamed(afterTls, 'b.test', '/').tlsRedirect).toBe(true);
    expect(routeNamed(afterTls, 'b.test', '/')).not.toBe(routeNamed(before, 'b.test', '/'));
    expect(routeNamed(afterTls, 'a.test', '/')).toBe(routeNamed(before, 'a.test', '/'));
    // The Service web changes: routes to it are new, routes to api are kept.
    const webChanged = items.map((item) =>
      item.object === start.web
        ? { ...item, object: webService('web', [{ name: 'http', port: 80, targetPort: 8081 }]) }
        : item,
    );
    const afterWeb = observe(webChanged, options).rules;
    expect(routeNamed(afterWeb, 'a.test', '/')).not.toBe(routeNamed(before, 'a.test', '/'));
    expect(routeNamed(afterWeb, 'a.test', '/')).toEqual(routeNamed(before, 'a.test', '/'));
    expect(routeNamed(afterWeb, 'a.test', '/api')).toBe(routeNamed(before, 'a.test', '/api'));
  });
});
