// The one route decision plain requests and WebSocket upgrades share (pure; the socket-level
// behaviour is in proxy.test.ts and websocket.test.ts).
import { describe, expect, it } from 'vitest';
import { failureStatus, upstreamStatusOf } from './failure-status.js';
import { backend, config } from './harness.test-support.js';
import { decideRoute } from './route-decision.js';
import type { Scheme } from './types.js';

const live = backend('live', [{ address: '127.0.0.1', port: 1 }]);
const empty = backend('empty', []);
const cfg = config([
  { host: 'a.test', path: '/', backend: live },
  { host: 'tls.test', path: '/', backend: live, tlsRedirect: true },
  { host: 'down.test', path: '/', backend: empty },
]);

function decide(scheme: Scheme, url: string, host: string | undefined) {
  return decideRoute(scheme, url, host, cfg.active, cfg.endpoints, ':8443');
}

describe('decideRoute', () => {
  it.each([
    // [scheme, target, Host header, kind, status or location, logged host, forwarded target, authority]
    ['http', '/x?y', 'a.test:80', 'forward', '', 'a.test', '/x?y', 'a.test:80'],
    ['http', 'http://a.test/abs?q=1', 'nope.test', 'forward', '', 'a.test', '/abs?q=1', 'a.test'],
    ['https', 'HTTPS://A.test:8443', 'nope.test', 'forward', '', 'a.test', '/', 'A.test:8443'],
    ['http', 'http://a.test?q', undefined, 'forward', '', 'a.test', '/?q', 'a.test'],
    ['http', 'http:///x', 'a.test', 'answer', 400, '', 'http:///x', undefined],
    ['http', 'ftp://a.test/', 'a.test', 'answer', 400, '', 'ftp://a.test/', undefined],
    ['http', '*', 'a.test', 'answer', 400, '', '*', undefined],
    ['http', '/%zz', 'a.test', 'answer', 400, '', '/%zz', undefined],
    ['http', 'http://a.test/../x', 'a.test', 'answer', 400, '', '/../x', undefined],
    ['http', '/', 'nope.test', 'answer', 404, 'nope.test', '/', undefined],
    ['http', '/', 'down.test', 'answer', 503, 'down.test', '/', undefined],
    ['http', '/p?q', 'TLS.test', 'redirect', 'https://tls.test:8443/p?q', 'tls.test', '/p?q', undefined],
    [
      'http',
      'http://tls.test/p',
      'a.test',
      'redirect',
      'https://tls.test:8443/p',
      'tls.test',
      '/p',
      undefined,
    ],
    ['https', '/p', 'tls.test', 'forward', '', 'tls.test', '/p', 'tls.test'],
    // Host values: RFC 3986 host[:port] or 400 (RFC 9112 §3.2), as nginx answers.
    ['http', '/', 'a.test:', 'forward', '', 'a.test', '/', 'a.test:'],
    ['http', '/', '[::1]:8080', 'answer', 404, '[::1]', '/', undefined],
    ['http', '/', '127.0.0.1', 'answer', 404, '127.0.0.1', '/', undefined],
    ['http', '/', 'under_score.test', 'answer', 404, 'under_score.test', '/', undefined],
    ['http', '/', '', 'answer', 404, '', '/', undefined],
    ['http', '/', 'a test', 'answer', 400, '', '/', undefined],
    ['http', '/', 'a.test/x', 'answer', 400, '', '/', undefined],
    ['http', '/', 'a.test:8o', 'answer', 400, '', '/', undefined],
    ['http', '/', 'user@a.test', 'answer', 400, '', '/', undefined],
    ['http', '/', 'a.test:80:80', 'answer', 400, '', '/', undefined],
    ['http', '/', '[::1', 'answer', 400, '', '/', undefined],
    ['http', '/', 'a"b.test', 'answer', 400, '', '/', undefined],
  ] as const)(
    '%s %s (Host %s) → %s %s',
    (scheme, url, hostHeader, kind, what, host, forwardUrl, authority) => {
      const d = decide(scheme, url, hostHeader);
      expect(d.kind).toBe(kind);
      expect(d.host).toBe(host);
      expect(d.forwardUrl).toBe(forwardUrl);
      if (d.kind === 'answer') expect(d.status).toBe(what);
      if (d.kind === 'redirect') expect(d.location).toBe(what);
      if (d.kind === 'forward') {
        expect(d.authority).toBe(authority);
        expect(d.backend).toBe(live);
        expect(d.endpoints).toBe(cfg.endpoints.get(live.key));
      }
    },
  );

  it('answers 404 with no configuration at all', () => {
    expect(decideRoute('http', '/', 'a.test', undefined, new Map(), '')).toMatchObject({
      kind: 'answer',
      status: 404,
    });
  });
});

describe('failureStatus', () => {
  it.each([
    ['connect', 502, 502, '502'],
    ['connect-timeout', 504, 504, '504'],
    ['stale', 502, 502, '502'],
    ['reset', 502, 502, '502'],
    ['protocol', 502, 502, '502'],
    ['timeout', 504, 504, '504'],
    ['client', 0, 499, '502'],
    ['client-timeout', 0, 408, '502'],
  ] as const)('%s: answered %i, logged %i, upstream_status %s', (failure, answer, log, upstream) => {
    expect(failureStatus(failure)).toEqual({ answer, log, upstream });
    expect(upstreamStatusOf(0, failure)).toBe(upstream);
    expect(upstreamStatusOf(200, failure)).toBe('200');
  });
});
