import { describe, expect, it } from 'vitest';
import { compileRoutes, findShadowedRules, type PathType, type RouteRule } from './index.js';

type R = readonly [pathType: PathType, path: string];
const rule = ([pathType, path]: R, host = ''): RouteRule<string> => ({
  host,
  path,
  pathType,
  target: `${pathType} ${path}`,
});

// https://kubernetes.io/docs/concepts/services-networking/ingress/#examples, row by row.
// [rules, request path, expected winner (undefined: no match)]
const kubernetesExamples: ReadonlyArray<readonly [string, readonly R[], string, R | undefined]> = [
  ['Prefix / matches all paths', [['Prefix', '/']], '/anything/at/all', ['Prefix', '/']],
  ['Exact /foo matches /foo', [['Exact', '/foo']], '/foo', ['Exact', '/foo']],
  ['Exact /foo does not match /bar', [['Exact', '/foo']], '/bar', undefined],
  ['Exact /foo does not match /foo/', [['Exact', '/foo']], '/foo/', undefined],
  ['Exact /foo/ does not match /foo', [['Exact', '/foo/']], '/foo', undefined],
  ['Exact /foo/ matches /foo/', [['Exact', '/foo/']], '/foo/', ['Exact', '/foo/']],
  ['Prefix /foo matches /foo', [['Prefix', '/foo']], '/foo', ['Prefix', '/foo']],
  ['Prefix /foo matches /foo/', [['Prefix', '/foo']], '/foo/', ['Prefix', '/foo']],
  ['Prefix /foo/ matches /foo', [['Prefix', '/foo/']], '/foo', ['Prefix', '/foo/']],
  ['Prefix /foo/ matches /foo/', [['Prefix', '/foo/']], '/foo/', ['Prefix', '/foo/']],
  ['Prefix /aaa/bb does not match /aaa/bbb', [['Prefix', '/aaa/bb']], '/aaa/bbb', undefined],
  ['Prefix /aaa/bbb matches /aaa/bbb', [['Prefix', '/aaa/bbb']], '/aaa/bbb', ['Prefix', '/aaa/bbb']],
  [
    'Prefix /aaa/bbb/ matches /aaa/bbb (trailing slash ignored)',
    [['Prefix', '/aaa/bbb/']],
    '/aaa/bbb',
    ['Prefix', '/aaa/bbb/'],
  ],
  [
    'Prefix /aaa/bbb matches /aaa/bbb/ (trailing slash matched)',
    [['Prefix', '/aaa/bbb']],
    '/aaa/bbb/',
    ['Prefix', '/aaa/bbb'],
  ],
  [
    'Prefix /aaa/bbb matches /aaa/bbb/ccc (subpath)',
    [['Prefix', '/aaa/bbb']],
    '/aaa/bbb/ccc',
    ['Prefix', '/aaa/bbb'],
  ],
  [
    'Prefix /aaa/bbb does not match /aaa/bbbxyz (string prefix only)',
    [['Prefix', '/aaa/bbb']],
    '/aaa/bbbxyz',
    undefined,
  ],
  [
    'Prefix /, /aaa: /aaa/ccc takes /aaa',
    [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
    ],
    '/aaa/ccc',
    ['Prefix', '/aaa'],
  ],
  [
    'Prefix /, /aaa, /aaa/bbb: /aaa/bbb takes /aaa/bbb',
    [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
      ['Prefix', '/aaa/bbb'],
    ],
    '/aaa/bbb',
    ['Prefix', '/aaa/bbb'],
  ],
  [
    'Prefix /, /aaa, /aaa/bbb: /ccc takes /',
    [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
      ['Prefix', '/aaa/bbb'],
    ],
    '/ccc',
    ['Prefix', '/'],
  ],
  ['Prefix /aaa does not match /ccc (no default)', [['Prefix', '/aaa']], '/ccc', undefined],
  [
    'Mixed Prefix /foo, Exact /foo: /foo takes Exact',
    [
      ['Prefix', '/foo'],
      ['Exact', '/foo'],
    ],
    '/foo',
    ['Exact', '/foo'],
  ],
  [
    'Mixed Prefix /foo, Exact /foo: /foo/ takes Prefix',
    [
      ['Prefix', '/foo'],
      ['Exact', '/foo'],
    ],
    '/foo/',
    ['Prefix', '/foo'],
  ],
];

describe('paths: the Kubernetes documentation examples', () => {
  it.each(kubernetesExamples)('%s', (_name, rules, path, winner) => {
    const table = compileRoutes({ rules: rules.map((r) => rule(r)) });
    expect(table.match('example.com', path)).toBe(winner && rule(winner).target);
  });
});

// [rules, request path, expected winner]
const precedence: ReadonlyArray<readonly [string, readonly R[], string, R | undefined]> = [
  ['paths are case-sensitive (Exact)', [['Exact', '/Foo']], '/foo', undefined],
  ['paths are case-sensitive (Prefix)', [['Prefix', '/Foo']], '/foo/bar', undefined],
  [
    'ImplementationSpecific is a Prefix',
    [['ImplementationSpecific', '/foo']],
    '/foo/bar',
    ['ImplementationSpecific', '/foo'],
  ],
  [
    'ImplementationSpecific does not match inside an element',
    [['ImplementationSpecific', '/foo']],
    '/foobar',
    undefined,
  ],
  [
    'the longest Prefix wins whatever the order of the rules',
    [
      ['Prefix', '/a/b'],
      ['Prefix', '/a'],
      ['Prefix', '/'],
    ],
    '/a/b/c',
    ['Prefix', '/a/b'],
  ],
  [
    'a longer Prefix beats a shorter Exact that does not match',
    [
      ['Exact', '/a'],
      ['Prefix', '/a/b'],
    ],
    '/a/b',
    ['Prefix', '/a/b'],
  ],
  [
    'Exact /foo/ beats Prefix /foo on /foo/',
    [
      ['Prefix', '/foo'],
      ['Exact', '/foo/'],
    ],
    '/foo/',
    ['Exact', '/foo/'],
  ],
  [
    'Exact / matches only /',
    [
      ['Exact', '/'],
      ['Prefix', '/'],
    ],
    '/x',
    ['Prefix', '/'],
  ],
  [
    'Exact / beats Prefix / on /',
    [
      ['Prefix', '/'],
      ['Exact', '/'],
    ],
    '/',
    ['Exact', '/'],
  ],
  [
    'Prefix and ImplementationSpecific on one path: the first given wins',
    [
      ['ImplementationSpecific', '/a'],
      ['Prefix', '/a'],
    ],
    '/a/b',
    ['ImplementationSpecific', '/a'],
  ],
  [
    'Prefix /foo and /foo/ are one path: the first given wins',
    [
      ['Prefix', '/foo/'],
      ['Prefix', '/foo'],
    ],
    '/foo',
    ['Prefix', '/foo/'],
  ],
  ['an encoded slash is not a separator', [['Prefix', '/a']], '/a%2Fb', undefined],
  ['Prefix /a%2Fb matches its subpaths', [['Prefix', '/a%2Fb']], '/a%2Fb/c', ['Prefix', '/a%2Fb']],
];

describe('paths: precedence and corner cases', () => {
  it.each(precedence)('%s', (_name, rules, path, winner) => {
    const table = compileRoutes({ rules: rules.map((r) => rule(r)) });
    expect(table.match('example.com', path)).toBe(winner && rule(winner).target);
  });

  it('on a duplicate (same host, path and type) the first rule given wins', () => {
    const table = compileRoutes({
      rules: [
        { host: 'a.com', path: '/x', pathType: 'Prefix', target: 'older' },
        { host: 'a.com', path: '/x', pathType: 'Prefix', target: 'newer' },
        { host: 'a.com', path: '/y', pathType: 'Exact', target: 'older' },
        { host: 'a.com', path: '/y', pathType: 'Exact', target: 'newer' },
      ],
    });
    expect(table.match('a.com', '/x/1')).toBe('older');
    expect(table.match('a.com', '/y')).toBe('older');
  });
});

const hostRules: RouteRule<string>[] = [
  { host: 'foo.example.com', path: '/', pathType: 'Prefix', target: 'exact-host' },
  { host: '*.example.com', path: '/', pathType: 'Prefix', target: 'wildcard' },
  { host: '*.example.com', path: '/w', pathType: 'Exact', target: 'wildcard /w' },
  { host: '', path: '/', pathType: 'Prefix', target: 'any-host' },
  { host: 'only-api.com', path: '/api', pathType: 'Prefix', target: 'only-api /api' },
  { host: '*.wild.org', path: '/api', pathType: 'Prefix', target: 'wild /api' },
];
const hostDefaults = [
  { host: 'with-default.com', target: 'with-default default' },
  { host: '*.wild.org', target: 'wild default' },
];

// [case, request host, request path, expected target]
const hosts: ReadonlyArray<readonly [string, string, string, string | undefined]> = [
  ['an exact host beats a wildcard', 'foo.example.com', '/w', 'exact-host'],
  ['a wildcard takes one label', 'bar.example.com', '/x', 'wildcard'],
  ['a wildcard rule path', 'bar.example.com', '/w', 'wildcard /w'],
  ['a wildcard does not take its parent domain', 'example.com', '/w', 'any-host'],
  ['a wildcard does not take two labels', 'a.b.example.com', '/w', 'any-host'],
  ['an unknown host takes the rules without a host', 'unknown.net', '/x', 'any-host'],
  ['an empty host takes the rules without a host', '', '/x', 'any-host'],
  ['a host with rules never falls back to rules without a host', 'only-api.com', '/web', undefined],
  ['a host with rules still matches its own paths', 'only-api.com', '/api/v1', 'only-api /api'],
  ['a host with only a default backend owns its requests', 'with-default.com', '/x', 'with-default default'],
  ['a wildcard host falls back to its own default backend', 'x.wild.org', '/web', 'wild default'],
  ['a wildcard host path beats its default backend', 'x.wild.org', '/api', 'wild /api'],
];

describe('hosts', () => {
  const table = compileRoutes({ rules: hostRules, hostDefaults });
  it.each(hosts)('%s', (_name, host, path, expected) => {
    expect(table.match(host, path)).toBe(expected);
  });

  it('uses the catch-all when the chosen host has no match and no default', () => {
    const withCatchAll = compileRoutes({ rules: hostRules, hostDefaults, catchAll: 'catch-all' });
    expect(withCatchAll.match('only-api.com', '/web')).toBe('catch-all');
    expect(withCatchAll.match('with-default.com', '/x')).toBe('with-default default');
  });

  it('uses the catch-all for any host when no rule has an empty host', () => {
    const table = compileRoutes({
      rules: [{ host: 'a.com', path: '/', pathType: 'Prefix', target: 'a' }],
      catchAll: 'catch-all',
    });
    expect(table.match('b.com', '/')).toBe('catch-all');
    expect(table.match('a.com', '/')).toBe('a');
  });

  it('answers undefined with no rules at all', () => {
    expect(compileRoutes({ rules: [] }).match('a.com', '/')).toBeUndefined();
    expect(compileRoutes({ rules: [], catchAll: 'c' }).match('a.com', '/')).toBe('c');
  });

  it('compares rule hosts case-insensitively', () => {
    const table = compileRoutes({
      rules: [{ host: 'Foo.COM', path: '/', pathType: 'Prefix', target: 'foo' }],
    });
    expect(table.match('foo.com', '/')).toBe('foo');
  });

  it('keeps the first default backend given for a host', () => {
    const table = compileRoutes({
      rules: [],
      hostDefaults: [
        { host: 'a.com', target: 'older' },
        { host: 'a.com', target: 'newer' },
      ],
    });
    expect(table.match('a.com', '/')).toBe('older');
  });
});

describe('shadowed rules', () => {
  const rules: RouteRule<string>[] = [
    { host: 'a.com', path: '/x', pathType: 'Prefix', target: '0' },
    { host: 'a.com', path: '/x', pathType: 'Prefix', target: '1' },
    { host: 'a.com', path: '/x/', pathType: 'Prefix', target: '2' },
    { host: 'a.com', path: '/x', pathType: 'ImplementationSpecific', target: '3' },
    { host: 'a.com', path: '/x', pathType: 'Exact', target: '4' },
    { host: 'b.com', path: '/x', pathType: 'Prefix', target: '5' },
    { host: 'A.com', path: '/x', pathType: 'Exact', target: '6' },
  ];

  it('reports each rule that can never be chosen, with the rule that wins and why', () => {
    expect(findShadowedRules(rules).map((s) => [s.index, s.byIndex, s.reason])).toEqual([
      [1, 0, 'duplicate'],
      [2, 0, 'equivalent'],
      [3, 0, 'equivalent'],
      [6, 4, 'duplicate'],
    ]);
  });

  it('is also available on the compiled table', () => {
    const table = compileRoutes({ rules });
    expect(table.shadowed).toEqual(findShadowedRules(rules));
    expect(table.shadowed[0]?.rule).toBe(rules[1]);
    expect(table.shadowed[0]?.by).toBe(rules[0]);
  });
});
