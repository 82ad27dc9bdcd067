// MemberList: O(1) add and delete by swapping, iteration that survives deletions, and the reason it
// exists: members that leave it die young instead of being promoted, as a churning Set's are.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MemberList } from './member-list.js';

interface Member {
  name: string;
}
const members = (n: number): Member[] => Array.from({ length: n }, (_, i) => ({ name: `m${i}` }));
const names = (list: MemberList<Member>): string[] => {
  const out: string[] = [];
  list.forEach((m) => {
    out.push(m.name);
  });
  return out.sort();
};

describe('http1/member-list', () => {
  it.each([
    { what: 'adds in any order', ops: ['+0', '+1', '+2'], left: ['m0', 'm1', 'm2'] },
    { what: 'ignores a second add', ops: ['+0', '+0', '+1'], left: ['m0', 'm1'] },
    { what: 'deletes the last', ops: ['+0', '+1', '-1'], left: ['m0'] },
    {
      what: 'deletes the first (the last takes its place)',
      ops: ['+0', '+1', '+2', '-0'],
      left: ['m1', 'm2'],
    },
    { what: 'deletes one not in it (no-op)', ops: ['+0', '-1'], left: ['m0'] },
    { what: 'deletes twice (no-op)', ops: ['+0', '+1', '-0', '-0'], left: ['m1'] },
    { what: 're-adds after a delete', ops: ['+0', '+1', '-0', '+0'], left: ['m0', 'm1'] },
    { what: 'empties', ops: ['+0', '+1', '-1', '-0'], left: [] },
  ])('$what', ({ ops, left }) => {
    const m = members(3);
    const list = new MemberList<Member>('test');
    for (const op of ops) {
      const member = m[Number(op.slice(1))] as Member;
      if (op[0] === '+') list.add(member);
      else list.delete(member);
    }
    expect(names(list)).toEqual(left);
    expect(list.size).toBe(left.length);
    for (const member of m) expect(list.has(member)).toBe(left.includes(member.name));
  });

  it('keeps a member of two lists in both, each with its own slot', () => {
    const [a, b, c] = members(3) as [Member, Member, Member];
    const one = new MemberList<Member>('one');
    const two = new MemberList<Member>('two');
    one.add(a);
    one.add(b);
    two.add(b);
    two.add(c);
    one.delete(a); // b moves to index 0 in `one`; its index in `two` must not change
    expect(names(one)).toEqual(['m1']);
    expect(names(two)).toEqual(['m1', 'm2']);
    two.delete(b);
    expect(names(two)).toEqual(['m2']);
    expect(one.has(b)).toBe(true);
  });

  it.each([
    { what: 'each member deletes itself', victim: (i: number) => i },
    { what: 'each member deletes the first', victim: () => 0 },
    { what: 'each member deletes a member not yet visited', victim: (i: number) => Math.max(0, i - 1) },
  ])('forEach visits every member still there when $what', ({ victim }) => {
    const m = members(8);
    const list = new MemberList<Member>('test');
    for (const member of m) list.add(member);
    const visited = new Set<string>();
    const deleted = new Set<string>();
    list.forEach((member) => {
      visited.add(member.name);
      const v = m[victim(Number(member.name.slice(1)))] as Member;
      if (list.delete(v)) deleted.add(v.name);
    });
    for (const member of m) {
      // Every member is visited unless it was deleted before its turn.
      expect(visited.has(member.name) || deleted.has(member.name)).toBe(true);
    }
  });

  it('clear() empties the list and frees the members to join again', () => {
    const m = members(3);
    const list = new MemberList<Member>('test');
    for (const member of m) list.add(member);
    list.clear();
    expect(list.size).toBe(0);
    expect(m.some((member) => list.has(member))).toBe(false);
    list.add(m[1] as Member);
    expect(names(list)).toEqual(['m1']);
  });

  // The property the data plane relies on, in a child process with a small young generation and a GC
  // trace: the group is made old first (as a server's is within seconds), then 1,000,000 members of
  // ~0.5 KB pass through it, 64 at a time. The Set is the control (22 mark-compacts here; it shows the
  // effect is measurable): if a Node upgrade fixes churning Sets, that line fails, and the list may go.
  it('lets members that leave die young, where a churning Set has them promoted', () => {
    const script = `
      const { MemberList } = await import(${JSON.stringify(new URL('./member-list.ts', import.meta.url).href)});
      const kind = process.argv[1];
      const group = kind === 'set' ? new Set() : new MemberList('churn');
      const live = [];
      gc();
      gc();
      for (let i = 0; i < 1000000; i++) {
        const member = { i, payload: new Array(60).fill(i) };
        group.add(member);
        live.push(member);
        if (live.length > 64) group.delete(live.shift());
      }`;
    const majorGcs = (kind: string): number => {
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--max-semi-space-size=1', '--trace-gc', '--input-type=module', '-e', script, kind],
        { encoding: 'utf8', timeout: 60_000 },
      );
      // Not the two asked for by gc() ("testing"): those the churn caused.
      return out.split('\n').filter((line) => line.includes('Mark-Compact') && !line.includes('testing'))
        .length;
    };
    expect(majorGcs('set')).toBeGreaterThanOrEqual(5);
    expect(majorGcs('list')).toBeLessThanOrEqual(1);
  });
});
