// Bodies parsed by the binding are counted, and a minor GC really runs every COPIES_PER_MINOR_GC bytes.
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { bodyCopyCollections, COPIES_PER_MINOR_GC } from './body-copies.js';
import { acquireParser, type ParserHandler } from './parser.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

function minorGcs(): { count(): number; stop(): void } {
  let n = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) n++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { count: () => n, stop: () => observer.disconnect() };
}

describe('http1/body-copies', () => {
  it('asks for a minor GC after each COPIES_PER_MINOR_GC bytes of bodies, at the end of the turn', async () => {
    let received = 0;
    const handler: ParserHandler = {
      onMessageBegin() {},
      onHeadersComplete: () => 0,
      onBody(chunk) {
        received += chunk.length;
      },
      onMessageComplete() {},
    };
    const parser = acquireParser('response', handler);
    const rounds = 3;
    const bodyBytes = rounds * COPIES_PER_MINOR_GC + 1;
    const observed = minorGcs();
    const before = bodyCopyCollections();
    parser.execute(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bodyBytes}\r\n\r\n`));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = bodyBytes;
    let asked = 0;
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      parser.execute(piece);
      if ((bodyBytes - left) % COPIES_PER_MINOR_GC < chunk.length && left > 0) {
        // A threshold was crossed by this chunk: the GC runs once the turn ends, not inside it.
        expect(bodyCopyCollections()).toBe(before + asked);
        await turn();
        asked++;
        expect(bodyCopyCollections()).toBe(before + asked);
      }
    }
    await turn();
    parser.release();
    // PerformanceObserver delivers its entries asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 20));
    observed.stop();
    expect(received).toBe(bodyBytes);
    expect(asked).toBe(rounds);
    expect(observed.count()).toBeGreaterThanOrEqual(rounds);
  });
});
