import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, unsupportedNode } from './node-version.js';

describe('unsupportedNode', () => {
  it.each([
    ['v24.0.0', false],
    ['v24.21.0', false],
    ['v25.1.0', false],
    ['v30.0.0-pre', false],
    ['v23.11.1', true],
    ['v22.12.0', true],
    ['v20.20.2', true],
    ['v8.17.0', true],
    ['', true],
  ])('%s refused: %s', (version, refused) => {
    const why = unsupportedNode(version);
    expect(why !== undefined).toBe(refused);
    if (refused) expect(why).toContain(`needs Node.js ${MIN_NODE_MAJOR} or later, and this is ${version}`);
  });

  it('accepts the Node running these tests', () => {
    expect(unsupportedNode(process.version)).toBeUndefined();
  });
});
