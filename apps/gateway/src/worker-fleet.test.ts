import { describe, expect, it } from 'vitest';
import { WORKER_V8_FLAGS, workerExecArgv } from './worker-fleet.js';

describe('workerExecArgv', () => {
  it.each([
    { primary: [], worker: ['--no-parallel-scavenge'] },
    {
      primary: ['--max-semi-space-size=8', '--max-old-space-size=320'],
      worker: ['--max-semi-space-size=8', '--max-old-space-size=320', '--no-parallel-scavenge'],
    },
    // Given to the primary already (by hand, or a benchmark's --node-arg): not passed twice.
    { primary: ['--no-parallel-scavenge', '--cpu-prof'], worker: ['--no-parallel-scavenge', '--cpu-prof'] },
  ])('$primary → $worker', ({ primary, worker }) => {
    expect(workerExecArgv(primary)).toEqual(worker);
  });

  it('is what the flags say, and leaves the primary’s array alone', () => {
    const primary = ['--max-semi-space-size=8'];
    const worker = workerExecArgv(primary);
    expect(worker.slice(1)).toEqual([...WORKER_V8_FLAGS]);
    expect(primary).toEqual(['--max-semi-space-size=8']);
  });
});
