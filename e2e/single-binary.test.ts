// `pnpm package` makes one executable (a Node.js single executable application) that runs with nothing of
// the repository beside it: built here by the same script into a scratch directory, copied alone into an
// empty directory with a copy of examples/seed.yaml, and run there with a PATH that has no node on it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Pod, startPods } from './support/backends.js';
import { ROOT } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { reapAtEnd } from './support/reaper.js';

let scratch: string;
let run: string;
let binary: string;
let smoke: string;
let env: NodeJS.ProcessEnv;
let nginx: { pods: Pod[]; port: number; close(): Promise<void> } | undefined;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function exited(child: ChildProcess): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return once(child, 'close').then(([code, signal]) => ({ code, signal, stdout, stderr }));
}

/** Runs a command to its end; killed after `timeoutMs` so that a hang fails the test instead of the hook. */
function runTo(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<Exit> {
  const child = spawn(command, args, { cwd: opts.cwd ?? run, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
  return exited(child).finally(() => clearTimeout(timer));
}

async function packageInto(out: string, extra: string[] = []): Promise<void> {
  const r = await runTo(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--out', out, ...extra], {
    cwd: ROOT,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`package failed (${r.code}): ${r.stdout}${r.stderr}`);
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'single-binary-'));
  run = join(scratch, 'run');
  mkdirSync(run);
  mkdirSync(join(scratch, 'empty-bin'));
  // Nothing to lean on: no node on PATH, no NODE_OPTIONS, no repository directory as cwd.
  env = { PATH: join(scratch, 'empty-bin'), HOME: scratch };
  // Both built afresh by the script `pnpm package` runs (about 5 s each), so this tests that script as it is.
  await Promise.all([
    packageInto(join(scratch, 'build/ingress-gateway')),
    packageInto(join(scratch, 'build/client-node-smoke'), [
      '--entry',
      'packaging/client-node-smoke.mjs',
      '--resolve-from',
      'packages/source-kubernetes',
    ]),
  ]);
  binary = join(run, 'ingress-gateway');
  smoke = join(run, 'client-node-smoke');
  copyFileSync(join(scratch, 'build/ingress-gateway'), binary);
  copyFileSync(join(scratch, 'build/client-node-smoke'), smoke);
  rmSync(join(scratch, 'build'), { recursive: true });

  // The seed's nginx endpoints, on their loopback addresses; on a free port rather than the seed's 18080,
  // which a demo running beside the tests may hold.
  nginx = await startPods('nginx', ['127.0.1.1', '127.0.1.2', '127.0.1.3']);
  const seed = readFileSync(join(ROOT, 'examples/seed.yaml'), 'utf8');
  expect(seed).toContain('port: 18080');
  writeFileSync(join(run, 'seed.yaml'), seed.replaceAll('port: 18080', `port: ${nginx.port}`));
}, 90_000);

afterAll(async () => {
  await nginx?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('prints --help', async () => {
  const r = await runTo(binary, ['--help']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^Usage: ingress-gateway --config PATH/);
});

it('validates the seed with --check', async () => {
  const r = await runTo(binary, ['--check', '--config', 'seed.yaml']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/configuration is valid: 2 rules, 2 backends, 1 certificates/);
});

it('serves the seed: proxies nginx.example.test to its pods, and exits 0 on SIGTERM', async () => {
  const child = spawn(
    binary,
    [
      '--config',
      'seed.yaml',
      '--bind-address',
      '127.0.0.1',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--metrics-port',
      '0',
    ],
    { cwd: run, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  reapAtEnd(child);
  const done = exited(child);
  try {
    const lines = createInterface({ input: child.stdout! });
    const listening = await Promise.race([
      new Promise<Record<string, unknown>>((resolve) =>
        lines.on('line', (text) => {
          const line = text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {};
          if (line.msg === 'gateway listening') resolve(line);
        }),
      ),
      done.then((r) => Promise.reject(new Error(`exited before listening: ${JSON.stringify(r)}`))),
    ]);
    const r = await request(listening.http as number, { host: 'nginx.example.test', path: '/hello' });
    expect(r.status).toBe(200);
    const echo = JSON.parse(r.body) as { pod: string; url: string };
    expect(echo.pod).toMatch(/^nginx-[012]$/);
    expect(echo.url).toBe('/hello');
    child.kill('SIGTERM');
    const end = await done;
    expect(end).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(end.stdout).toContain('"msg":"stopped"');
  } finally {
    child.kill('SIGKILL');
  }
});

it('fails clearly on a kubeconfig that does not exist', async () => {
  const r = await runTo(binary, ['--kubeconfig', join(run, 'no-such-kubeconfig')]);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toMatch(/no-such-kubeconfig|not available yet/);
});

it('carries @kubernetes/client-node: loads a kubeconfig, lists and watches namespaces', async () => {
  const apiServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (req.headers.authorization !== 'Bearer smoke-token' || url.pathname !== '/api/v1/namespaces') {
      res.writeHead(404).end();
    } else if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: ns('demo') })}\n`);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'NamespaceList', metadata: {}, items: [ns('demo')] }));
    }
  });
  apiServer.listen(0, '127.0.0.1');
  await once(apiServer, 'listening');
  try {
    const { port } = apiServer.address() as AddressInfo;
    writeFileSync(
      join(run, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `  - { name: fake, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }`,
        'users:',
        '  - { name: smoke, user: { token: smoke-token } }',
        'contexts:',
        '  - { name: smoke@fake, context: { cluster: fake, user: smoke } }',
        'current-context: smoke@fake',
        '',
      ].join('\n'),
    );
    const r = await runTo(smoke, ['kubeconfig']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({
      context: 'smoke@fake',
      namespaces: ['demo'],
      watched: 'ADDED demo',
    });
  } finally {
    apiServer.closeAllConnections();
    apiServer.close();
  }
});
