import type { KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  hit,
  ingress,
  path,
  rule,
  simpleIngress,
  snapshot,
  webService,
} from './builders.test-support.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const options = defaultTranslateOptions();
const services = [webService('web'), webService('api'), webService('old'), webService('new')];
const run = (...objects: KubeObject[]) => translate(snapshot(...services, ...objects), options);
const at = (seconds: number) => ({
  creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, seconds)).toISOString(),
});

describe('rules → routes', () => {
  it('labels a route with namespace, Ingress, Service, rule host and path', () => {
    const { config, diagnostics } = run(
      ingress(
        'shop',
        { rules: [rule('Shop.Example.COM', path('/cart', backend('web', 80)))] },
        { namespace: 'default' },
      ),
    );
    expect(diagnostics).toEqual([]);
    expect(config.rules.rules).toHaveLength(1);
    const r = config.rules.rules[0]!;
    expect({ host: r.host, path: r.path, pathType: r.pathType }).toEqual({
      host: 'shop.example.com',
      path: '/cart',
      pathType: 'Prefix',
    });
    expect(r.target).toMatchObject({
      namespace: 'default',
      ingress: 'shop',
      service: 'web',
      host: 'shop.example.com',
      path: '/cart',
      tlsRedirect: false,
    });
    expect(hit(config, 'shop.example.com', '/cart/1')).toBe('default/shop → default/web:80');
  });

  const table: Array<{ name: string; objects: KubeObject[]; requests: Array<[string, string, string]> }> = [
    {
      name: 'a rule without host serves every host; its path defaults to /',
      objects: [ingress('any', { rules: [rule(undefined, path(undefined, backend('web', 80)))] })],
      requests: [
        ['whatever.test', '/', 'default/any → default/web:80'],
        ['x.test', '/deep/path', 'default/any → default/web:80'],
      ],
    },
    {
      name: 'ImplementationSpecific without path defaults to /',
      objects: [
        ingress('is', {
          rules: [rule('a.test', path(undefined, backend('web', 80), 'ImplementationSpecific'))],
        }),
      ],
      requests: [['a.test', '/x', 'default/is → default/web:80']],
    },
    {
      name: 'several Ingresses for one host merge',
      objects: [simpleIngress('web', 'a.test', '/', 'web'), simpleIngress('api', 'a.test', '/api', 'api')],
      requests: [
        ['a.test', '/', 'default/web → default/web:80'],
        ['a.test', '/api/v1', 'default/api → default/api:80'],
        ['b.test', '/', '404'],
      ],
    },
    {
      name: 'conflict: the oldest Ingress wins, whatever the input order',
      objects: [
        simpleIngress('new', 'a.test', '/', 'new', 80, at(30)),
        simpleIngress('old', 'a.test', '/', 'old', 80, at(10)),
      ],
      requests: [['a.test', '/', 'default/old → default/old:80']],
    },
    {
      name: 'conflict without timestamps: the first in the source wins',
      objects: [simpleIngress('first', 'a.test', '/', 'new'), simpleIngress('second', 'a.test', '/', 'old')],
      requests: [['a.test', '/', 'default/first → default/new:80']],
    },
  ];

  it.each(table)('$name', ({ objects, requests }) => {
    const { config } = run(...objects);
    for (const [host, p, expected] of requests) expect(hit(config, host, p), `${host}${p}`).toBe(expected);
  });

  it('a conflict is reported on the losing Ingress, naming the winner, and left out of the rules', () => {
    const { config, diagnostics } = run(
      simpleIngress('new', 'a.test', '/', 'new', 80, at(30)),
      simpleIngress('old', 'a.test', '/', 'old', 80, at(10)),
    );
    expect(config.rules.rules.map((r) => r.target.ingress)).toEqual(['old']);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        kind: 'Ingress',
        namespace: 'default',
        name: 'new',
        file: 'test.yaml',
        field: 'spec.rules[0].http.paths[0]',
        message: expect.stringContaining('Ingress default/old'),
      }),
    ]);
    expect(config.backends.has('default/new:80')).toBe(false);
  });

  it('same age and no source order difference: namespace/name order', () => {
    const a = simpleIngress('a', 'x.test', '/', 'old', 80, { ...at(5), namespace: 'default' });
    const b = simpleIngress('b', 'x.test', '/', 'new', 80, { ...at(5), namespace: 'default' });
    const snap = snapshot(...services, b, a);
    // Give both the same source order, as a cluster source may.
    const ingresses = snap.ingresses.map((i) => ({ ...i, source: { order: 0 } }));
    const { config, diagnostics } = translate({ ...snap, ingresses }, options);
    expect(hit(config, 'x.test', '/')).toBe('default/a → default/old:80');
    expect(diagnostics.map((d) => d.name)).toEqual(['b']);
  });

  it('a timestamped Ingress is older than one without a timestamp', () => {
    const { config } = run(
      simpleIngress('plain', 'a.test', '/', 'new'),
      simpleIngress('dated', 'a.test', '/', 'old', 80, at(0)),
    );
    expect(hit(config, 'a.test', '/')).toBe('default/dated → default/old:80');
  });

  it('different path types on one path are no conflict: Exact beats Prefix', () => {
    const { config, diagnostics } = run(
      ingress('p', { rules: [rule('a.test', path('/x', backend('web', 80)))] }),
      ingress('e', { rules: [rule('a.test', path('/x', backend('api', 80), 'Exact'))] }),
    );
    expect(diagnostics).toEqual([]);
    expect(hit(config, 'a.test', '/x')).toBe('default/e → default/api:80');
    expect(hit(config, 'a.test', '/x/y')).toBe('default/p → default/web:80');
  });

  it('equivalent spellings (Prefix /x and /x/, Prefix and ImplementationSpecific) are reported as conflicts', () => {
    const { config, diagnostics } = run(
      ingress('one', { rules: [rule('a.test', path('/x', backend('web', 80)))] }, at(1)),
      ingress('two', {
        rules: [
          rule(
            'a.test',
            path('/x/', backend('api', 80)),
            path('/x', backend('api', 80), 'ImplementationSpecific'),
          ),
        ],
      }),
    );
    expect(hit(config, 'a.test', '/x')).toBe('default/one → default/web:80');
    expect(diagnostics.map((d) => [d.name, d.field])).toEqual([
      ['two', 'spec.rules[0].http.paths[0]'],
      ['two', 'spec.rules[0].http.paths[1]'],
    ]);
  });

  it('a duplicate inside one Ingress: the first path wins, the second is reported', () => {
    const { diagnostics } = run(
      ingress('dup', {
        rules: [
          rule('a.test', path('/x', backend('web', 80))),
          rule('A.test', path('/x', backend('api', 80))),
        ],
      }),
    );
    expect(diagnostics).toEqual([
      expect.objectContaining({
        name: 'dup',
        field: 'spec.rules[1].http.paths[0]',
        message: expect.stringContaining('this Ingress'),
      }),
    ]);
  });

  it('invalid paths are errors on their field and left out', () => {
    const { config, diagnostics } = run(
      ingress('bad', {
        rules: [
          rule(
            'a.test',
            path(undefined, backend('web', 80), 'Exact'),
            path('relative', backend('web', 80)),
            path('/ok', backend('web', 80)),
          ),
        ],
      }),
    );
    expect(config.rules.rules.map((r) => r.path)).toEqual(['/ok']);
    expect(diagnostics.map((d) => [d.severity, d.field])).toEqual([
      ['error', 'spec.rules[0].http.paths[0].path'],
      ['error', 'spec.rules[0].http.paths[1].path'],
    ]);
  });

  it('a path no normalised request can reach is kept but reported', () => {
    const { diagnostics } = run(simpleIngress('odd', 'a.test', '/a//b', 'web'));
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', field: 'spec.rules[0].http.paths[0].path' }),
    ]);
  });

  it('a rule without http contributes no route', () => {
    const { config, diagnostics } = run(ingress('empty', { rules: [{ host: 'a.test' }] }));
    expect(diagnostics).toEqual([]);
    expect(config.rules.rules).toEqual([]);
    expect(hit(config, 'a.test', '/')).toBe('404');
  });
});
