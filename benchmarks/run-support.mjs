import { readFileSync } from 'node:fs';
import http from 'node:http';

// What the scale benchmarks share around a run: cleanups that run in reverse on every way out, a
// watchdog that stops a run that hangs, failures that still clean up, and the statistics they print.

/**
 * Installs the watchdog and the failure handlers for the script `name`; returns the cleanup list
 * (push functions, sync or async) and `cleanup()`, which runs them once, last pushed first.
 */
export function guardRun(name, timeoutS) {
  const cleanups = [];
  async function cleanup() {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {}
    }
    cleanups.length = 0;
  }
  const watchdog = setTimeout(async () => {
    console.error(`${name}: watchdog: still running after ${timeoutS} s, stopping`);
    await cleanup();
    process.exit(1);
  }, timeoutS * 1000);
  watchdog.unref();
  // Whatever fails, the children, fixtures and backends are stopped.
  const fail = async (err) => {
    console.error(`${name}: ${err?.stack ?? err}`);
    await cleanup();
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  return { cleanups, cleanup };
}

/**
 * The gateway's process settings as deployed: the image's ENTRYPOINT and ENV and the Deployment's
 * NODE_OPTIONS (Dockerfile, deploy/). Benchmarks run the gateway with them unless --node-defaults.
 */
export const DEPLOYED_NODE_ARGS = [
  '--max-semi-space-size=8',
  '--no-parallel-scavenge',
  '--max-old-space-size=320',
];
export const DEPLOYED_ENV = { MALLOC_ARENA_MAX: '2' };

/** The environment of a gateway child: this one's, plus the deployed settings unless `nodeDefaults`. */
export const gatewayEnv = (nodeDefaults, extra = {}) => ({
  ...process.env,
  ...(nodeDefaults ? {} : DEPLOYED_ENV),
  ...extra,
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * A real backend on loopback address `ip` answering its own `name` (which backend served a request
 * shows in the body); stopped by the run's cleanups.
 */
export async function namedBackend(ip, name, cleanups) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) });
    res.end(name);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port: 0 }, resolve);
  });
  cleanups.push(() => new Promise((r) => server.close(r)).finally(() => server.closeAllConnections()));
  return { ip, name, port: server.address().port };
}

/** `--help`: the comment block the script opens with, which says what it does and how to run it. */
export function printUsage(scriptUrl) {
  const text = readFileSync(new URL(scriptUrl), 'utf8');
  const lines = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  console.log(lines.join('\n'));
}
