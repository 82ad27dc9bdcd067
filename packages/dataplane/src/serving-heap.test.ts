// stopPretenuring: after it, objects made where V8 saw a burst of survivors are still born young.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stopPretenuring } from './serving-heap.js';

describe('serving-heap', () => {
  it('is idempotent in this process', () => {
    stopPretenuring();
    expect(() => stopPretenuring()).not.toThrow();
  });

  // In a child with a small young generation and a GC trace: 300,000 objects made at one place all
  // survive (the burst of connections a server sees at its start), then 3,000,000 made at the same place
  // die at once (connections that close). Untouched, V8 pretenures the place after the burst and the
  // short-lived objects fill old space (6 mark-compacts here): that run is the control, so a Node whose V8
  // no longer does this fails it, and the call may go.
  it('keeps short-lived objects out of old space after a burst of long-lived ones', () => {
    const script = `
      const { stopPretenuring } = await import(${JSON.stringify(new URL('./serving-heap.ts', import.meta.url).href)});
      if (process.argv[1] === 'stopped') stopPretenuring();
      function make(i) { return { i, pair: [i, i + 1], next: null }; }
      let burst = [];
      for (let i = 0; i < 300000; i++) burst.push(make(i));
      burst = null;
      console.log('CHURN');
      const ring = new Array(64);
      for (let i = 0; i < 3000000; i++) ring[i & 63] = make(i);`;
    const majorGcsInChurn = (kind: string): number => {
      const out = execFileSync(
        process.execPath,
        ['--max-semi-space-size=1', '--trace-gc', '--input-type=module', '-e', script, kind],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const churn = out.slice(out.indexOf('CHURN'));
      return churn.split('\n').filter((line) => line.includes('Mark-Compact')).length;
    };
    expect(majorGcsInChurn('default')).toBeGreaterThanOrEqual(3);
    expect(majorGcsInChurn('stopped')).toBeLessThanOrEqual(1);
  });
});
