// Starts the built CLI (apps/gateway/dist/cli.js) as a child process, as an operator would, and reads
// its JSON log lines from stdout.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { reapAtEnd } from './reaper.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'apps/gateway/dist/cli.js');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface GatewayProcess {
  child: ChildProcess;
  http: number;
  https: number;
  metrics: number;
  logs: LogLine[];
  stderr: () => string;
  /** Resolves with the first log line (already seen or future) that satisfies `pred`. */
  waitForLog(pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function runCli(
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return once(child, 'exit').then(([code]) => {
    clearTimeout(timer);
    return { code: code as number | null, stdout, stderr };
  });
}

/**
 * The gateway with `args`, on free ports of 127.0.0.1. One process (`--workers 1`) unless `args` say
 * otherwise (a later flag wins): the default, one worker per core, would fork two on this machine for
 * every test, and the worker processes have tests of their own (workers.test.ts).
 * `GATEWAY_E2E_WORKERS=2 pnpm test e2e` runs every e2e test against two workers instead.
 */
export async function startGateway(args: string[], entry = CLI): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    [
      entry,
      '--workers',
      process.env.GATEWAY_E2E_WORKERS ?? '1',
      '--bind-address',
      '127.0.0.1',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--metrics-port',
      '0',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text, unparsed: true };
    }
    logs.push(line);
    for (const w of waiters) {
      if (w.pred(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  // A gateway must not outlive the test worker that started it, whatever happens to the worker: killed
  // at the worker's exit, else by the global teardown.
  reapAtEnd(child);
  const reap = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const exited = once(child, 'exit').then(([code]) => {
    process.removeListener('exit', reap);
    return code as number | null;
  });

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.add(w);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlogs: ${JSON.stringify(logs.slice(-20))}`,
          ),
        );
      }, timeoutMs);
      w.resolve = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  };

  const listening = await Promise.race([
    waitForLog((l) => l.msg === 'gateway listening', 15_000),
    exited.then((code) => {
      throw new Error(
        `gateway exited with ${code} before listening; stderr: ${stderr}; logs: ${JSON.stringify(logs)}`,
      );
    }),
  ]).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    child,
    http: listening.http as number,
    https: listening.https as number,
    metrics: listening.metrics as number,
    logs,
    stderr: () => stderr,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
