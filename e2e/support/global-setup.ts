// vitest's global setup: the directory where e2e tests record the processes they start (reaper.ts),
// and the teardown that kills those still running once every test file is done.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAPER_DIR_ENV } from './reaper.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-e2e-reaper-'));
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
    rmSync(dir, { recursive: true, force: true });
  };
}
