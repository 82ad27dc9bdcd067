import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it.each([
    { attempt: 0, random: 0, expected: 125 },
    { attempt: 0, random: 0.999, expected: 250 },
    { attempt: 3, random: 0, expected: 1000 },
    { attempt: 3, random: 0.5, expected: 1500 },
    { attempt: 7, random: 0, expected: 15_000 },
    { attempt: 8, random: 0.999, expected: 29_985 },
    { attempt: 100, random: 0.999, expected: 29_985 },
    { attempt: 100, random: 0, expected: 15_000 },
  ])('attempt $attempt, random $random → $expected ms', ({ attempt, random, expected }) => {
    expect(backoffDelay(attempt, random)).toBe(expected);
  });

  it('grows, and never passes the cap', () => {
    let last = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = backoffDelay(attempt, 0);
      expect(d).toBeGreaterThanOrEqual(last);
      expect(backoffDelay(attempt, 0.9999)).toBeLessThanOrEqual(30_000);
      last = d;
    }
  });
});
