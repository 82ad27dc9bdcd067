import type { RequestRecord } from '@gateway/dataplane';
import { describe, expect, it, vi } from 'vitest';
import { AccessLog, formatAccessLine } from './access-log.js';

const record: RequestRecord = {
  time: '2026-11-25T10:00:00.000Z',
  remote_addr: '127.0.0.1',
  method: 'GET',
  host: 'a.example.test',
  path: '/q?"quoted"\\\n',
  status: 200,
  bytes_sent: 321,
  request_length: 80,
  request_time: 0.0123,
  namespace: 'ns',
  ingress: 'ing',
  service: 'svc',
  upstream_addr: '127.0.3.1:8080',
  upstream_status: '200',
  upstream_response_time: 0.01,
  req_id: 'abc',
  route: undefined,
  scheme: 'http',
};

describe('formatAccessLine', () => {
  it('writes one JSON line with ingress-nginx keys, escaping request data', () => {
    const line = formatAccessLine(record);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      time: '2026-11-25T10:00:00.000Z',
      remote_addr: '127.0.0.1',
      method: 'GET',
      host: 'a.example.test',
      path: '/q?"quoted"\\\n',
      status: 200,
      bytes_sent: 321,
      request_length: 80,
      request_time: 0.012,
      namespace: 'ns',
      ingress: 'ing',
      service: 'svc',
      upstream_addr: '127.0.3.1:8080',
      upstream_status: '200',
      upstream_response_time: 0.01,
      req_id: 'abc',
    });
  });

  it('writes null for an upstream time when no upstream was tried', () => {
    expect(
      JSON.parse(formatAccessLine({ ...record, upstream_response_time: null })).upstream_response_time,
    ).toBe(null);
  });
});

describe('AccessLog', () => {
  it('batches the lines of a short interval into one write, across event-loop turns', () => {
    vi.useFakeTimers();
    try {
      const writes: string[] = [];
      const log = new AccessLog({ write: (chunk) => writes.push(chunk) }, { flushMs: 20 });
      log.write(record);
      vi.advanceTimersByTime(10);
      log.write({ ...record, req_id: 'second' });
      vi.advanceTimersByTime(9);
      expect(writes).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(writes).toHaveLength(1);
      expect(writes[0]!.split('\n')).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flushes at once past 64 KiB, and on demand', () => {
    const writes: string[] = [];
    const log = new AccessLog({ write: (chunk) => writes.push(chunk) });
    const big = { ...record, path: `/${'x'.repeat(70_000)}` };
    log.write(big);
    expect(writes).toHaveLength(1);
    log.write(record);
    log.flush();
    expect(writes).toHaveLength(2);
    log.flush();
    expect(writes).toHaveLength(2);
  });
});

describe('formatAccessLine, the quoting', () => {
  // Every kind of string request data can hold: each must come out as JSON.stringify writes it.
  const samples = [
    '/plain/path?a=1&b=2',
    '/q?"quoted"',
    'back\\slash',
    'tab\there, nul\u0000, esc\u001b, del\u007f',
    'latin-1 bytes as the parser hands them: \u00e9\u00ff\u0080',
    'beyond latin-1: \u2028\u2029 \u4e2d',
    'a pair \ud83d\ude00 and lone halves \ud83d x \ude00',
    '',
  ];

  it('quotes each field exactly as JSON.stringify does', () => {
    for (const s of samples) {
      const line = formatAccessLine({ ...record, path: s, host: s, req_id: s, remote_addr: s });
      const parsed = JSON.parse(line);
      expect([parsed.path, parsed.host, parsed.req_id, parsed.remote_addr]).toEqual(
        [s, s, s, s].map((x) => JSON.parse(JSON.stringify(x))),
      );
      expect(line).toContain(`"path":${JSON.stringify(s)}`);
    }
  });

  it("makes a route's namespace, Ingress and Service part once, and never lends it to another route", () => {
    const routeA = { namespace: 'a', ingress: 'ia', service: 'sa' } as unknown as RequestRecord['route'];
    const routeB = { namespace: 'b', ingress: 'ib', service: 'sb' } as unknown as RequestRecord['route'];
    const a = { ...record, route: routeA, namespace: 'a', ingress: 'ia', service: 'sa' };
    const b = { ...record, route: routeB, namespace: 'b', ingress: 'ib', service: 'sb' };
    for (const r of [a, b, a, b]) {
      const parsed = JSON.parse(formatAccessLine(r));
      expect([parsed.namespace, parsed.ingress, parsed.service]).toEqual([r.namespace, r.ingress, r.service]);
    }
  });
});

describe('AccessLog, the batch buffer', () => {
  it('hands over whole lines, in order, with every character intact, across many batches', () => {
    const writes: string[] = [];
    const log = new AccessLog({ write: (chunk) => writes.push(chunk) });
    const paths = Array.from(
      { length: 2000 },
      (_, i) => `/${i}/\u00e9\u4e2d\ud83d\ude00/${'x'.repeat(i % 300)}`,
    );
    for (const [i, path] of paths.entries()) log.write({ ...record, path, req_id: String(i) });
    log.flush();
    expect(writes.length).toBeGreaterThan(2);
    for (const chunk of writes) expect(chunk.endsWith('\n')).toBe(true);
    const lines = writes.join('').split('\n').slice(0, -1);
    expect(lines.map((l) => JSON.parse(l).path)).toEqual(paths);
    expect(lines.map((l) => JSON.parse(l).req_id)).toEqual(paths.map((_, i) => String(i)));
  });
});
