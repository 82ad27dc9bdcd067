import { describe, expect, it } from 'vitest';
import { KNOWN_ANNOTATIONS } from './known.js';

describe('KNOWN_ANNOTATIONS', () => {
  it('holds ingress-nginx v1.15’s documented annotations and the parsers’ extra names', () => {
    expect(KNOWN_ANNOTATIONS.size).toBe(138);
  });

  const kinds: Array<[string, string]> = [
    ['ssl-redirect', 'honoured'],
    ['force-ssl-redirect', 'honoured'],
    ['auth-url', 'access'],
    ['auth-tls-secret', 'access'],
    ['whitelist-source-range', 'access'],
    ['denylist-source-range', 'access'],
    ['satisfy', 'access'],
    ['enable-global-auth', 'access'],
    ['auth-snippet', 'snippet'],
    ['configuration-snippet', 'snippet'],
    ['canary', 'canary'],
    ['canary-weight', 'canary'],
    ['use-regex', 'regex'],
    ['rewrite-target', 'not-honoured'],
    ['proxy-body-size', 'not-honoured'],
  ];
  it.each(kinds)('%s is %s', (name, kind) => {
    expect(KNOWN_ANNOTATIONS.get(name)).toBe(kind);
  });

  it('every auth-* and auth-tls-* restricts access (or is a snippet)', () => {
    for (const [name, kind] of KNOWN_ANNOTATIONS) {
      if (name.startsWith('auth-'))
        expect([name, kind]).toEqual([name, name.endsWith('-snippet') ? 'snippet' : 'access']);
      if (name.endsWith('-snippet')) expect([name, kind]).toEqual([name, 'snippet']);
    }
  });
});
