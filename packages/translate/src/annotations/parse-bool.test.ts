import { describe, expect, it } from 'vitest';
import { parseGoBool } from './parse-bool.js';

describe('parseGoBool (Go strconv.ParseBool, as ingress-nginx reads annotation booleans)', () => {
  const table: Array<[string, boolean | undefined]> = [
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['true', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['false', false],
    ['False', false],
    ['tRUE', undefined],
    ['yes', undefined],
    ['on', undefined],
    ['', undefined],
    [' true', undefined],
    ['true ', undefined],
    ['2', undefined],
  ];
  it.each(table)('%j → %s', (text, expected) => {
    expect(parseGoBool(text)).toBe(expected);
  });
});
