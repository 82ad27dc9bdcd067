import { describe, expect, it } from 'vitest';
import type { LineSink } from './access-log.js';
import { LineRelay } from './line-relay.js';

function collecting(bytes: boolean): { sink: LineSink; writes: string[] } {
  const writes: string[] = [];
  const sink: LineSink = bytes
    ? {
        write: () => expect.unreachable('bytes go to writeBytes'),
        writeBytes: (b) => writes.push(b.toString()),
      }
    : { write: (s) => writes.push(s) };
  return { sink, writes };
}

/** `text` as UTF-8, read in pieces ending at the byte offsets `cuts`. */
function reads(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const ends = [...cuts, bytes.length];
  return ends.map((end, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end)).filter((b) => b.length > 0);
}

describe('LineRelay', () => {
  it.each([
    { name: 'whole lines as read', text: 'a\nb\n', cuts: [], writes: ['a\nb\n'], rest: 0 },
    { name: 'a line cut in two reads', text: 'a\nbc\n', cuts: [3], writes: ['a\n', 'bc\n'], rest: 0 },
    { name: 'a line over three reads', text: 'xyyz\nnext', cuts: [1, 3], writes: ['xyyz\n'], rest: 4 },
    { name: 'several lines and a piece', text: '1\n2\n3\n', cuts: [5], writes: ['1\n2\n', '3\n'], rest: 0 },
    { name: 'a cut inside a UTF-8 character', text: 'é\né\n', cuts: [4], writes: ['é\n', 'é\n'], rest: 0 },
    { name: 'nothing', text: '', cuts: [], writes: [], rest: 0 },
  ])('hands on whole lines only: $name', ({ text, cuts, writes: expected, rest }) => {
    for (const bytes of [true, false]) {
      const { sink, writes } = collecting(bytes);
      const relay = new LineRelay(sink);
      for (const chunk of reads(text, cuts)) relay.push(chunk);
      expect(writes).toEqual(expected);
      expect(relay.end()).toBe(rest);
      expect(relay.end()).toBe(0);
    }
  });
});
