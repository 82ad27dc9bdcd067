import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeHost, normalizePath } from './index.js';

// [Host header, host used for matching]
const hosts: ReadonlyArray<readonly [string, string]> = [
  ['foo.com', 'foo.com'],
  ['Foo.COM', 'foo.com'],
  ['Foo.COM:8080', 'foo.com'],
  ['foo.com.', 'foo.com'],
  ['foo.com.:443', 'foo.com'],
  ['foo.com..', 'foo.com.'],
  ['[::1]:8080', '[::1]'],
  ['[::1]', '[::1]'],
  ['[FE80::1]', '[fe80::1]'],
  ['::1', '::1'],
  ['127.0.0.1:80', '127.0.0.1'],
  ['', ''],
];

describe('normalizeHost', () => {
  it.each(hosts)('%j → %j', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected);
  });
});

// [request-target, path used for matching (undefined: answer 400)]
const paths: ReadonlyArray<readonly [string, string | undefined]> = [
  // unchanged
  ['/', '/'],
  ['/foo/bar', '/foo/bar'],
  ['/foo/bar/', '/foo/bar/'],
  ['/.well-known/acme', '/.well-known/acme'],
  ['/a/.../b', '/a/.../b'],
  ['/a/..b/c.', '/a/..b/c.'],
  // the query is ignored
  ['/foo?x=1', '/foo'],
  ['/foo?x=/../..', '/foo'],
  ['/?', '/'],
  // unreserved escapes decoded, others kept with uppercase hex
  ['/%41%62%2d%2E%5f%7E%30', '/Ab-._~0'],
  ['/a%2fb', '/a%2Fb'],
  ['/a%2Fb', '/a%2Fb'],
  ['/%3a%3F%25%20', '/%3A%3F%25%20'],
  ['/%c3%a9', '/%C3%A9'],
  ['/%252e', '/%252e'],
  // dot segments removed (RFC 3986 5.2.4)
  ['/a/./b', '/a/b'],
  ['/a/../b', '/b'],
  ['/a/b/..', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/a/.', '/a/'],
  ['/.', '/'],
  ['/a/..', '/'],
  ['/admin/../public', '/public'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2E/admin', '/admin'],
  ['/public/.%2e/admin', '/admin'],
  ['/public/%2e/admin', '/public/admin'],
  // repeated slashes merged
  ['//', '/'],
  ['//a///b//', '/a/b/'],
  ['/a//../b', '/b'],
  // 400: malformed escape
  ['/%zz', undefined],
  ['/%4', undefined],
  ['/%', undefined],
  ['/a%4/b', undefined],
  ['/%4?', undefined],
  ['/%g0', undefined],
  // 400: climbs above the root
  ['/..', undefined],
  ['/../a', undefined],
  ['/a/../../b', undefined],
  ['/%2e%2e/a', undefined],
  // 400: not origin-form
  ['', undefined],
  ['foo', undefined],
  ['*', undefined],
  ['?x', undefined],
  ['http://a.com/', undefined],
];

describe('normalizePath', () => {
  it.each(paths)('%j → %j', (target, expected) => {
    expect(normalizePath(target)).toBe(expected);
  });

  // Targets built from the characters that matter: separators, dots and escapes of both kinds.
  const piece = fc.constantFrom(
    '/',
    '/',
    '.',
    '..',
    'a',
    'B',
    '%2e',
    '%2E',
    '%2f',
    '%41',
    '%7e',
    '%zz',
    '%',
    '?',
  );
  const target = fc.array(piece, { maxLength: 12 }).map((parts) => `/${parts.join('')}`);
  const runs = { numRuns: 400 };

  it('is idempotent', () => {
    fc.assert(
      fc.property(target, (t) => {
        const once = normalizePath(t);
        if (once !== undefined) expect(normalizePath(once)).toBe(once);
      }),
      runs,
    );
  });

  it('leaves no dot segment, empty segment or encoded dot, and keeps the leading slash', () => {
    fc.assert(
      fc.property(target, (t) => {
        const p = normalizePath(t);
        if (p === undefined) return;
        expect(p.startsWith('/')).toBe(true);
        expect(`${p}/`).not.toMatch(/\/\.\.?\//);
        expect(p).not.toContain('//');
        expect(p).not.toMatch(/%2e/i);
        expect(p).not.toContain('?');
      }),
      runs,
    );
  });

  it('answers 400 exactly when an escape is malformed or the path climbs above the root', () => {
    fc.assert(
      fc.property(target, (t) => {
        const path = t.split('?')[0]!;
        const malformed = /%(?![0-9a-f]{2})/i.test(path);
        // Resolve dot segments by hand on decoded segments to see whether the root is left.
        let depth = 0;
        let climbs = false;
        for (const segment of path.slice(1).split('/')) {
          const decoded = segment.replace(/%2e/gi, '.');
          if (decoded === '..') {
            if (depth === 0) climbs = true;
            depth = Math.max(0, depth - 1);
          } else if (decoded !== '.' && decoded !== '') depth++;
        }
        expect(normalizePath(t) === undefined).toBe(malformed || climbs);
      }),
      runs,
    );
  });
});
