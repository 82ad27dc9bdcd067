// Processes the e2e tests start must not outlive the run, whatever happens to the test worker that
// started them: vitest may end a worker without its 'exit' handlers running, and a gateway left behind
// (one was found spinning for 50 minutes) skews every benchmark after it. Each is recorded in the
// directory the global setup made (global-setup.ts), and the teardown, in vitest's main process, kills
// whatever is still recorded.
import type { ChildProcess } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by global-setup.ts for every test worker. */
export const REAPER_DIR_ENV = 'GATEWAY_E2E_REAPER_DIR';

/** `group`: the child leads a process group of its own (detached): the whole group is killed. */
export function reapAtEnd(child: ChildProcess, { group = false }: { group?: boolean } = {}): void {
  const dir = process.env[REAPER_DIR_ENV];
  const pid = child.pid;
  if (dir === undefined || pid === undefined) return;
  const record = join(dir, String(pid));
  writeFileSync(record, group ? 'group' : 'process');
  child.once('exit', () => {
    try {
      unlinkSync(record);
    } catch {}
  });
}
