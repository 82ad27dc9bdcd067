// vitest's global setup: one temporary root for the whole run, the directory where e2e tests record the
// processes they start (reaper.ts), and the teardown that kills those still running once every test
// file is done and then removes the root, so that no run leaves directories behind in /tmp.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAPER_DIR_ENV } from './reaper.js';

export default function setup(): () => void {
  // Every mkdtemp(tmpdir()) of a test, its workers and the processes they spawn lands under this root:
  // os.tmpdir() reads TMPDIR on each call and the test workers inherit this process's environment.
  const root = mkdtempSync(join(tmpdir(), 'gateway-tests-'));
  const previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = root;
  const dir = mkdtempSync(join(root, 'reaper-'));
  process.env[REAPER_DIR_ENV] = dir;
  return () => {
    for (const name of readdirSync(dir)) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const group = readFileSync(join(dir, name), 'utf8') === 'group';
      try {
        process.kill(group ? -pid : pid, 'SIGKILL');
        process.stderr.write(
          `e2e: killed ${group ? 'process group' : 'process'} ${pid}, left running by a test\n`,
        );
      } catch {}
    }
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    rmSync(root, { recursive: true, force: true });
  };
}
