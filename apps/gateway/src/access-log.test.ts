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
