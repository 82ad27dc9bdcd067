import { describe, expect, it } from 'vitest';
import { acquireParser, freeParserCount, isParseError, type ParserHandler } from './parser.js';

class Recorder implements ParserHandler {
  events: unknown[] = [];
  skipBody = 0;
  onMessageBegin(): void {
    this.events.push('begin');
  }
  onHeadersComplete(
    major: number,
    minor: number,
    rawHeaders: string[],
    method: string,
    url: string,
    status: number,
    message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    this.events.push({ major, minor, rawHeaders, method, url, status, message, upgrade, keepAlive });
    return this.skipBody;
  }
  onBody(chunk: Buffer): void {
    this.events.push(`body:${chunk}`);
  }
  onMessageComplete(trailers: string[]): void {
    this.events.push({ trailers });
  }
}

describe('http1/parser', () => {
  it('parses requests with method names, raw headers, chunked bodies and trailers', () => {
    const r = new Recorder();
    const p = acquireParser('request', r);
    const data = Buffer.from(
      'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 9\r\n\r\n',
    );
    expect(p.execute(data)).toBe(data.length);
    expect(r.events).toEqual([
      'begin',
      {
        major: 1,
        minor: 1,
        rawHeaders: ['Host', 'a', 'Transfer-Encoding', 'chunked'],
        method: 'POST',
        url: '/up',
        status: 0,
        message: '',
        upgrade: false,
        keepAlive: true,
      },
      'body:abc',
      { trailers: ['X-Sum', '9'] },
    ]);
    p.release();
  });

  it('gathers more than 32 header fields flushed early', () => {
    const r = new Recorder();
    const p = acquireParser('request', r);
    let head = 'GET /many HTTP/1.1\r\nHost: a\r\n';
    for (let i = 0; i < 50; i++) head += `X-${i}: v${i}\r\n`;
    p.execute(Buffer.from(`${head}\r\n`));
    const h = r.events[1] as { rawHeaders: string[]; url: string };
    expect(h.url).toBe('/many');
    expect(h.rawHeaders.length).toBe(102);
    expect(h.rawHeaders.slice(-2)).toEqual(['X-49', 'v49']);
    expect(r.events[2]).toEqual({ trailers: [] });
    p.release();
  });

  it('parses responses; returning 1 skips the body of a response to HEAD', () => {
    const r = new Recorder();
    r.skipBody = 1;
    const p = acquireParser('response', r);
    const data = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    expect(p.execute(data)).toBe(data.length);
    expect(r.events[1]).toMatchObject({ status: 200, message: 'OK', method: '' });
    expect(r.events[2]).toEqual({ trailers: [] });
    p.release();
  });

  it('enforces the header size limit strictly', () => {
    const p = acquireParser('request', new Recorder(), 1024);
    const res = p.execute(Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(2000)}\r\n\r\n`));
    expect(isParseError(res) && res.code).toBe('HPE_HEADER_OVERFLOW');
    p.release();
    const q = acquireParser('request', new Recorder());
    const bad = q.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n'));
    expect(isParseError(bad)).toBe(true);
    q.release();
  });

  it('reuses released parsers from a free list, re-initialised', () => {
    const first = acquireParser('request', new Recorder());
    first.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-Half: '));
    first.release();
    first.release();
    const before = freeParserCount();
    const r = new Recorder();
    const again = acquireParser('response', r);
    expect(again).toBe(first);
    expect(freeParserCount()).toBe(before - 1);
    again.execute(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
    expect(r.events[1]).toMatchObject({ status: 204, rawHeaders: [] });
    again.release();
  });
});
