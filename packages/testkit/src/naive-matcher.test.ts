// The compiled route table against the naive reference matcher, over random rule sets. Imports
// `@gateway/routing` from its dist/: build routing first (routing cannot import testkit, which depends on it).
import {
  compileRoutes,
  findShadowedRules,
  normalizePath,
  type PathType,
  type RouteRule,
  type RouteTableInput,
} from '@gateway/routing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { naiveMatch } from './naive-matcher.js';

const ruleHosts = ['', 'example.com', 'foo.example.com', '*.example.com', '*.b.example.com', 'other.org'];
const requestHosts = [
  ...ruleHosts,
  'bar.example.com',
  'a.b.example.com',
  'b.example.com',
  'x.other.org',
  'none',
];

// Paths from a small alphabet so that rules and requests collide often; '' elements give `//`.
const element = fc.constantFrom('a', 'b', 'ab', '');
const path = fc
  .tuple(fc.array(element, { maxLength: 4 }), fc.boolean())
  .map(
    ([elements, trailingSlash]) => `/${elements.join('/')}${trailingSlash && elements.length > 0 ? '/' : ''}`,
  );
const pathType = fc.constantFrom<PathType>('Exact', 'Prefix', 'ImplementationSpecific');

const input: fc.Arbitrary<RouteTableInput<number>> = fc
  .record({
    rules: fc.array(fc.record({ host: fc.constantFrom(...ruleHosts), path, pathType }), { maxLength: 12 }),
    defaultHosts: fc.uniqueArray(fc.constantFrom(...ruleHosts), { maxLength: 3 }),
    catchAll: fc.boolean(),
  })
  .map(({ rules, defaultHosts, catchAll }) => ({
    // Targets are the rules' indexes; defaults are 100+, the catch-all is -1.
    rules: rules.map((r, i) => ({ ...r, target: i })),
    hostDefaults: defaultHosts.map((host, i) => ({ host, target: 100 + i })),
    ...(catchAll ? { catchAll: -1 } : {}),
  }));
const requests = fc.array(fc.tuple(fc.constantFrom(...requestHosts), path), { minLength: 1, maxLength: 20 });
const runs = { numRuns: 300 };

describe('compileRoutes agrees with the naive matcher', () => {
  it('on normalised request paths', () => {
    fc.assert(
      fc.property(input, requests, (routes, reqs) => {
        const table = compileRoutes(routes);
        for (const [host, raw] of reqs) {
          const p = normalizePath(raw)!;
          expect(table.match(host, p), `${host} ${p}`).toBe(naiveMatch(routes, host, p));
        }
      }),
      runs,
    );
  });

  it('on raw paths too (empty elements, trailing slashes)', () => {
    fc.assert(
      fc.property(input, requests, (routes, reqs) => {
        const table = compileRoutes(routes);
        for (const [host, p] of reqs)
          expect(table.match(host, p), `${host} ${p}`).toBe(naiveMatch(routes, host, p));
      }),
      runs,
    );
  });
});

/**
 * Rebuilds as translate makes them: each input takes rule objects of the one before (same objects, some
 * dropped, some moved, fresh ones added), compiled with `reuse`. Every table, the earlier ones too once
 * later ones reused their paths, must answer as the naive matcher does for its own input.
 */
const rebuilds = fc
  .tuple(
    input,
    fc.array(
      fc.record({
        keep: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        rotate: fc.nat({ max: 11 }),
        added: fc.array(fc.record({ host: fc.constantFrom(...ruleHosts), path, pathType }), { maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  )
  .map(([first, edits]) => {
    const inputs: RouteTableInput<number>[] = [first];
    let target = 1000;
    for (const edit of edits) {
      const previous = inputs[inputs.length - 1]!.rules;
      const kept = previous.filter((_, i) => edit.keep[i] ?? true);
      const cut = kept.length === 0 ? 0 : edit.rotate % kept.length;
      // A rotation keeps runs of one host together mostly, and splits or joins some.
      const moved = [...kept.slice(cut), ...kept.slice(0, cut)];
      const fresh = edit.added.map((r) => ({ ...r, target: target++ }));
      inputs.push({ ...first, rules: [...moved, ...fresh] });
    }
    return inputs;
  });

describe('compileRoutes with reuse', () => {
  it('agrees with the naive matcher at every rebuild, and earlier tables keep answering as they did', () => {
    fc.assert(
      fc.property(rebuilds, requests, (inputs, reqs) => {
        const tables = inputs.map((routes) => compileRoutes(routes, { reuse: true }));
        tables.forEach((table, k) => {
          for (const [host, raw] of reqs) {
            const p = normalizePath(raw)!;
            expect(table.match(host, p), `table ${k}: ${host} ${p}`).toBe(naiveMatch(inputs[k]!, host, p));
          }
        });
      }),
      runs,
    );
  });
});

/** A request host that the rule's host (and no more specific host) owns. */
function requestHostFor(ruleHost: string): string {
  if (ruleHost === '') return 'unlisted.test';
  return ruleHost.startsWith('*.') ? `zz${ruleHost.slice(1)}` : ruleHost;
}

describe('findShadowedRules', () => {
  it('every rule not shadowed is reachable; a shadowed rule never is', () => {
    fc.assert(
      fc.property(input, (routes) => {
        const table = compileRoutes(routes);
        const shadowed = new Set(findShadowedRules(routes.rules).map((s) => s.index));
        routes.rules.forEach((rule: RouteRule<number>, i) => {
          // A request only this rule can win: its exact path, or a subpath element no rule uses.
          const request = rule.pathType === 'Exact' ? rule.path : `${rule.path.replace(/\/$/, '')}/zz`;
          const got = table.match(requestHostFor(rule.host), request);
          if (shadowed.has(i)) expect(got).not.toBe(i);
          else expect(got).toBe(i);
        });
      }),
      runs,
    );
  });
});

describe('naiveMatch', () => {
  it('follows the documented examples it is the reference for', () => {
    const rules: RouteRule<string>[] = [
      { host: '', path: '/', pathType: 'Prefix', target: '/' },
      { host: '', path: '/aaa', pathType: 'Prefix', target: '/aaa' },
      { host: '', path: '/aaa/bbb/', pathType: 'Prefix', target: '/aaa/bbb/' },
      { host: '', path: '/aaa', pathType: 'Exact', target: '= /aaa' },
    ];
    const match = (p: string) => naiveMatch({ rules }, 'h', p);
    expect([match('/aaa/ccc'), match('/aaa/bbb'), match('/aaa/bbbxyz'), match('/ccc')]).toEqual([
      '/aaa',
      '/aaa/bbb/',
      '/aaa',
      '/',
    ]);
    expect([match('/aaa'), match('/aaa/')]).toEqual(['= /aaa', '/aaa']);
  });
});
