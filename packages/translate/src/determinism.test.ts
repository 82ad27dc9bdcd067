import type { SourcedObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  endpoints,
  ingress,
  ingressClass,
  path,
  rule,
  slice,
  snapshotOf,
  sourced,
  tls,
  tlsSecret,
  webService,
} from './builders.test-support.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

/** A small cluster touching every feature: classes, conflicts, defaults, TLS, slices, Endpoints. */
const objects = sourced([
  ingressClass('gw', 'k8s.io/ingress-gateway', true),
  webService('web'),
  webService('api'),
  webService('legacy'),
  slice(
    'web-1',
    'web',
    [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'], ready: false }],
    [{ name: 'http', port: 8080 }],
  ),
  slice('web-2', 'web', [{ addresses: ['10.0.0.3'] }], [{ name: 'http', port: 8080 }]),
  endpoints('legacy', [{ addresses: [{ ip: '10.0.9.1' }], ports: [{ name: 'http', port: 8080 }] }]),
  tlsSecret('a-cert'),
  tlsSecret('b-cert'),
  ingress('shop', {
    ingressClassName: 'gw',
    defaultBackend: backend('legacy', 80),
    tls: [tls('a-cert', 'a.test'), tls('missing', 'c.test')],
    rules: [rule('a.test', path('/', backend('web', 80)), path('/api', backend('api', 'http'), 'Exact'))],
  }),
  ingress('copy', {
    tls: [tls('b-cert', 'a.test', 'b.test')],
    rules: [rule('a.test', path('/', backend('api', 80))), rule('b.test', path('/', backend('web', 80)))],
  }),
  ingress('catch', { defaultBackend: backend('web', 'http') }),
  ingress('catch2', { defaultBackend: backend('api', 80) }, { namespace: 'other' }),
  ingress('foreign', { ingressClassName: 'nginx', rules: [rule('a.test', path('/', backend('web', 80)))] }),
]);

/** Everything observable of a result, as plain data. */
function observe(items: SourcedObject[]) {
  const { config, diagnostics } = translate(snapshotOf(items), defaultTranslateOptions());
  return {
    rules: config.rules,
    backends: [...config.backends.entries()],
    tls: config.tls,
    summary: config.summary,
    diagnostics,
    requests: ['a.test/', 'a.test/api', 'a.test/x', 'b.test/', 'c.test/', 'z.test/'].map((r) => {
      const slash = r.indexOf('/');
      return config.routes.match(r.slice(0, slash), r.slice(slash));
    }),
  };
}

/** Deterministic shuffle (a fixed LCG), so the test itself is reproducible. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('determinism', () => {
  const expected = observe(objects);

  it('the example gives what it should', () => {
    expect(expected.summary).toEqual({
      ingresses: 4,
      ignoredIngresses: 1,
      rules: 3,
      hostDefaults: 2,
      catchAll: true,
      backends: 3,
      endpoints: 3,
      tlsBindings: 2,
      warnings: 5,
      errors: 0,
    });
    expect(expected.diagnostics.map((d) => `${d.namespace}/${d.name} ${d.field}`)).toEqual([
      'default/shop spec.tls[1].secretName',
      'default/copy spec.tls[0].hosts[0]',
      'default/copy spec.rules[0].http.paths[0]',
      'other/catch2 spec.defaultBackend.service.name',
      'other/catch2 spec.defaultBackend',
    ]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('shuffled input (seed %i) gives identical output', (seed) => {
    expect(observe(shuffled(objects, seed))).toEqual(expected);
  });
});
