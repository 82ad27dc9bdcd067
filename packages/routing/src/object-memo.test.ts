import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ObjectMemo } from './object-memo.js';

describe('ObjectMemo', () => {
  it('gives back what was set for the same object, nothing for another', () => {
    const memo = new ObjectMemo<object, number>('test');
    const a = { name: 'a' };
    const b = { name: 'a' };
    expect(memo.get(a)).toBeUndefined();
    memo.set(a, 1);
    expect(memo.get(a)).toBe(1);
    expect(memo.get(b)).toBeUndefined();
    memo.set(a, 2);
    expect(memo.get(a)).toBe(2);
  });

  it('two memos on one object keep their own values', () => {
    const one = new ObjectMemo<object, string>('one');
    const two = new ObjectMemo<object, string>('two');
    const key = {};
    one.set(key, 'x');
    two.set(key, 'y');
    expect([one.get(key), two.get(key)]).toEqual(['x', 'y']);
  });

  it('leaves the object as it looked: keys, JSON, spreads, equality and structured clones', () => {
    const memo = new ObjectMemo<object, object>('hidden');
    const key = { kind: 'Ingress', spec: { rules: [] } };
    memo.set(key, { big: true });
    expect(Object.keys(key)).toEqual(['kind', 'spec']);
    expect(JSON.stringify(key)).toBe('{"kind":"Ingress","spec":{"rules":[]}}');
    expect(memo.get({ ...key })).toBeUndefined();
    expect(key).toEqual({ kind: 'Ingress', spec: { rules: [] } });
    expect(serialize(key)).toEqual(serialize({ kind: 'Ingress', spec: { rules: [] } }));
  });

  it('keeps values for frozen keys too', () => {
    const memo = new ObjectMemo<object, number>('frozen');
    const frozen = Object.freeze({ a: 1 });
    const sealed = Object.seal({ b: 2 });
    memo.set(frozen, 1);
    memo.set(sealed, 2);
    expect([memo.get(frozen), memo.get(sealed)]).toEqual([1, 2]);
    expect(memo.get({ a: 1 })).toBeUndefined();
  });
});
