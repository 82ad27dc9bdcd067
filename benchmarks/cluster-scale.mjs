// The scale scenario of cluster mode: the gateway (a child process, `--kubeconfig`) against the in-repo
// API-server fixture seeded with N Ingresses (5 paths each), N Services, N EndpointSlices (3 endpoints
// each) — see generate-objects.mjs. Prints one table against the targets of the issue and writes JSON
// to benchmarks/results/cluster-scale-<date>.json (not committed).
//
//   node benchmarks/cluster-scale.mjs [--ingresses 10000] [--changes 10] [--recompiles 5] [--tls]
//                                     [--cpu-prof DIR] [--heap-snapshot DIR] [--json FILE] [--workers N (1)]
//
// Only loopback addresses are used (the fixture on 127.0.0.1, the two real backends on 127.0.90.1 and
// 127.0.90.2, the other endpoints fake 127.200.x.y addresses never contacted); every wait is bounded
// and the whole run is stopped by a watchdog.
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiServerFixture } from '@gateway/api-server-fixture';
import { endpointSlice, generateObjects, hostOf, ingress } from './generate-objects.mjs';
import { asFormatted } from './json-format.mjs';
import {
  DEPLOYED_ENV,
  DEPLOYED_NODE_ARGS,
  gatewayEnv,
  guardRun,
  median,
  namedBackend,
  printUsage,
  sleep,
} from './run-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values } = parseArgs({
  options: {
    help: { type: 'boolean', default: false },
    ingresses: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '10' },
    recompiles: { type: 'string', default: '5' },
    tls: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    // Without it the gateway runs with the V8 settings it is deployed with (Dockerfile, deploy/).
    'node-defaults': { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    json: { type: 'string' },
    'timeout-s': { type: 'string', default: '600' },
  },
});
if (values.help) {
  printUsage(import.meta.url);
  process.exit(0);
}
const N = Number(values.ingresses);
const CHANGES = Number(values.changes);
const RECOMPILES = Number(values.recompiles);
const HOLD_OFF_MS = 50; // KubernetesSource's default hold-off: part of every apply → swap wall time

const TARGETS = {
  readyAfterListsMs: 5000,
  rssMB: 300,
  recompileMs: 250,
  endpointsComputeMs: 10,
  endpointsVisibleMs: 200,
};

const { cleanups, cleanup } = guardRun('cluster-scale', Number(values['timeout-s']));
const max = (xs) => Math.max(...xs);
const r1 = (x) => Math.round(x * 10) / 10;

// --- two real backends on distinct loopback IPs, each answering its own name ---

const backend = (ip, name) => namedBackend(ip, name, cleanups);

const A = await backend('127.0.90.1', 'backend-a');
const B = await backend('127.0.90.2', 'backend-b');
const MEASURED = 0; // Ingress/Service app-0 in ns-0 points at A or B; every other one at fake endpoints
const sliceAt = (b, generation) => endpointSlice(MEASURED, { addresses: [b.ip], port: b.port, generation });

// --- objects, fixture ---

let t = performance.now();
const objects = generateObjects({
  ingresses: N,
  tls: values.tls,
  endpoints: { [MEASURED]: { addresses: [A.ip], port: A.port } },
});
const generateMs = performance.now() - t;

t = performance.now();
const api = await ApiServerFixture.start({ objects, bookmarkIntervalMs: 0 });
const seedMs = performance.now() - t;
cleanups.push(() => api.stop());
// The seed is 40,000 writes in the fixture's event log; a real etcd would have compacted them long ago.
api.compact();

const dir = mkdtempSync(join(tmpdir(), 'gw-cluster-scale-'));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = await api.writeKubeconfig(dir);

const requestLog = [];
api.on('request', (rec) =>
  requestLog.push({ at: performance.now(), verb: rec.verb, resource: rec.resource, status: rec.status }),
);

// --- the gateway ---

const execArgv = [...(values['node-defaults'] ? [] : DEPLOYED_NODE_ARGS), ...values['node-arg']];
if (values['cpu-prof'] !== undefined) {
  mkdirSync(values['cpu-prof'], { recursive: true });
  execArgv.push('--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`);
}
if (values['heap-snapshot'] !== undefined) {
  mkdirSync(values['heap-snapshot'], { recursive: true });
  execArgv.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${values['heap-snapshot']}`);
}
const args = [
  ...execArgv,
  join(root, 'apps/gateway/dist/cli.js'),
  '--kubeconfig',
  kubeconfig,
  '--bind-address',
  '127.0.0.1',
  '--http-port',
  '0',
  '--https-port',
  '0',
  '--metrics-port',
  '0',
  '--no-access-log',
  // As deployed (the Deployment's 1 CPU runs one process); --workers N for the worker mode.
  '--workers',
  values.workers,
];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const child = spawn(process.execPath, args, {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: gatewayEnv(values['node-defaults']),
});
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
cleanups.push(async () => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
});
let stderr = '';
child.stderr.on('data', (d) => {
  stderr += d;
});

/** Every log line, with the time it arrived; waiters are resolved by the first match from an index. */
const lines = [];
const waiters = new Set();
createInterface({ input: child.stdout }).on('line', (line) => {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  const rec = { at: performance.now(), ...entry };
  lines.push(rec);
  for (const w of waiters) w(rec);
});
function waitLine(pred, { fromIndex = 0, timeoutMs = 30_000 } = {}) {
  const found = lines.slice(fromIndex).find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const w = (rec) => {
      if (!pred(rec)) return;
      waiters.delete(w);
      clearTimeout(timer);
      resolve(rec);
    };
    const timer = setTimeout(() => {
      waiters.delete(w);
      reject(
        new Error(`no log line matching ${pred} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`),
      );
    }, timeoutMs);
    waiters.add(w);
  });
}
exited.then(({ code, signal }) => {
  if (!stopping) {
    console.error(`gateway exited early (code ${code}, signal ${signal}): ${stderr.slice(-4000)}`);
    cleanup().then(() => process.exit(1));
  }
});
let stopping = false;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
cleanups.push(() => agent.destroy());
function get(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMB: r1(kb('VmRSS') / 1024), hwmMB: r1(kb('VmHWM') / 1024) };
}
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
}

const listening = await waitLine((l) => l.msg === 'gateway listening', { timeoutMs: 60_000 });
const ports = { http: listening.http, metrics: listening.metrics };
const listeningMs = listening.at - t0;

// /readyz polled every 10 ms until 200 (bounded).
let readyAt;
for (const deadline = performance.now() + 300_000; performance.now() < deadline; await sleep(10)) {
  const res = await get(ports.metrics, '/readyz').catch(() => undefined);
  if (res?.status === 200) {
    readyAt = performance.now();
    break;
  }
}
if (readyAt === undefined) throw new Error('/readyz never answered 200');
const syncedLine = await waitLine((l) => l.msg === 'synced: ready');
const firstApply = lines.find((l) => l.msg === 'configuration applied');
const lists = requestLog.filter((r) => r.verb === 'list');
const lastListAt = max(lists.map((r) => r.at));
const fixtureCpuS = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6;
const gatewayCpuAtReadyS = cpuSecondsOf(child.pid);
/** With --heap-snapshot DIR: the gateway writes a heap snapshot there (SIGUSR2), renamed to NAME. */
async function heapSnapshot(name) {
  const snapDir = values['heap-snapshot'];
  if (snapDir === undefined) return;
  const before = new Set(readdirSync(snapDir));
  child.kill('SIGUSR2');
  for (const deadline = performance.now() + 120_000; performance.now() < deadline; await sleep(200)) {
    const file = readdirSync(snapDir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // Written when its size stops changing between two looks.
    if (file !== undefined) {
      const size = statSync(join(snapDir, file)).size;
      await sleep(1000);
      if (statSync(join(snapDir, file)).size === size && size > 0) {
        renameSync(join(snapDir, file), join(snapDir, `${name}.heapsnapshot`));
        return;
      }
    }
  }
  throw new Error(`no heap snapshot in ${snapDir}`);
}
const heapOf = async () => {
  const text = (await get(ports.metrics, '/metrics')).body;
  const mb = (name) => {
    const v = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(text)?.[1];
    return v === undefined ? undefined : r1(Number(v) / 2 ** 20);
  };
  return {
    rssMetricMB: mb('process_resident_memory_bytes'),
    heapUsedMB: mb('nodejs_heap_size_used_bytes'),
    heapTotalMB: mb('nodejs_heap_size_total_bytes'),
    externalMB: mb('nodejs_external_memory_bytes'),
  };
};
const afterSync = { ...rssOf(child.pid), ...(await heapOf()) };
await heapSnapshot('after-sync');

// --- baseline: a request through the gateway with nothing changing (the no-op) ---

const viaGateway = () => get(ports.http, '/', { host: hostOf(MEASURED) });
const first = await viaGateway();
if (first.body !== A.name)
  throw new Error(`expected ${A.name} through the gateway, got ${first.status} ${first.body}`);
const rtts = [];
for (let i = 0; i < 50; i++) {
  const s = performance.now();
  await viaGateway();
  rtts.push(performance.now() - s);
}

// --- full recompiles: one Ingress changed per round ---

const recompiles = [];
for (let i = 0; i < RECOMPILES; i++) {
  const from = lines.length;
  const changed = ingress(MEASURED, { tls: values.tls, extraPaths: [`/changed-${i}`] });
  const s = performance.now();
  api.apply(changed);
  const line = await waitLine((l) => l.msg === 'configuration applied', { fromIndex: from });
  recompiles.push({ logMs: line.ms, wallMs: line.at - s, summary: line.summary });
  await sleep(200);
}

// --- EndpointSlice changes: the measured Service moves between A and B ---

const endpointChanges = [];
let current = A;
for (let i = 0; i < CHANGES; i++) {
  const next = current === A ? B : A;
  const from = lines.length;
  const applied = waitLine(
    (l) => l.msg === 'endpoints applied' && l.services?.includes(`ns-0/app-${MEASURED}`),
    { fromIndex: from, timeoutMs: 10_000 },
  );
  const s = performance.now();
  api.apply(sliceAt(next, i + 1));
  let visibleMs;
  let polls = 0;
  for (const deadline = s + 5_000; performance.now() < deadline; await sleep(2)) {
    polls++;
    const res = await viaGateway().catch(() => undefined);
    if (res?.body === next.name) {
      visibleMs = performance.now() - s;
      break;
    }
  }
  const line = await applied;
  endpointChanges.push({ computeMs: line.ms, swapWallMs: line.at - s, visibleMs, polls, to: next.name });
  current = next;
  await sleep(100);
}
const afterChanges = { ...rssOf(child.pid), ...(await heapOf()) };
await heapSnapshot('after-changes');

// --- stop ---

stopping = true;
child.kill('SIGTERM');
const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
const exit = await exited;
clearTimeout(killTimer);
await cleanup();

// --- report ---

const rc = recompiles.map((r) => r.logMs);
const rcWall = recompiles.map((r) => r.wallMs - HOLD_OFF_MS);
const ec = endpointChanges.map((e) => e.computeMs);
const ev = endpointChanges.map((e) => e.visibleMs ?? Number.POSITIVE_INFINITY);
const readyAfterListsMs = readyAt - lastListAt;
const result = {
  date: new Date().toISOString(),
  machine: { nproc: (await import('node:os')).availableParallelism(), node: process.version },
  gatewayNodeArgs: execArgv,
  gatewayEnv: values['node-defaults'] ? {} : DEPLOYED_ENV,
  objects: {
    ingresses: N,
    paths: N * 5,
    services: N,
    endpoints: N * 3,
    total: objects.length,
    tls: values.tls,
  },
  generateMs: r1(generateMs),
  fixtureSeedMs: r1(seedMs),
  startup: {
    listeningMs: r1(listeningMs),
    lastListMs: r1(lastListAt - t0),
    listRequests: lists.length,
    readyAfterListsMs: r1(readyAfterListsMs),
    syncedLogAfterListsMs: r1(syncedLine.at - lastListAt),
    firstApplyLogMs: firstApply?.ms,
    readyMs: r1(readyAt - t0),
    gatewayCpuS: gatewayCpuAtReadyS,
    fixtureCpuS: r1(fixtureCpuS),
  },
  memory: { afterSync, afterChanges },
  noopRequestRttMs: { median: r1(median(rtts) * 100) / 100, max: r1(max(rtts)) },
  recompiles,
  endpointChanges,
  exit,
};

const row = (name, value, target, ok) =>
  `${name.padEnd(58)} ${String(value).padStart(16)}  ${target.padEnd(10)} ${ok === undefined ? '' : ok ? 'ok' : 'MISSED'}`;
const mm = (xs) => `${r1(median(xs))} / ${r1(max(xs))}`;
console.log(
  `\ncluster-scale: ${N} Ingresses, ${N * 5} paths, ${N} Services, ${N * 3} endpoints (${objects.length} objects${values.tls ? ', TLS' : ''}); ` +
    `${result.machine.nproc} cores, node ${process.version}; gateway node flags: ${execArgv.join(' ') || '(none)'}${
      values['node-defaults']
        ? ''
        : `, env ${Object.entries(DEPLOYED_ENV)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
    }`,
);
console.log(row('', 'measured', 'target', undefined));
console.log(row('generate objects (ms)', r1(generateMs), '', undefined));
console.log(row('seed the fixture through objects: (ms)', r1(seedMs), '', undefined));
console.log(row('start → gateway listening (ms)', r1(listeningMs), '', undefined));
console.log(
  row(`start → last list response (ms, ${lists.length} pages)`, r1(lastListAt - t0), '', undefined),
);
console.log(
  row(
    'last list → /readyz 200 (ms)',
    r1(readyAfterListsMs),
    '< 5000',
    readyAfterListsMs < TARGETS.readyAfterListsMs,
  ),
);
console.log(row('  of which the first compile+swap, log ms', firstApply?.ms ?? '-', '', undefined));
console.log(row('start → /readyz 200 (ms)', r1(readyAt - t0), '', undefined));
console.log(
  row(
    'gateway CPU until ready (s) / fixture CPU (s)',
    `${gatewayCpuAtReadyS} / ${r1(fixtureCpuS)}`,
    '',
    undefined,
  ),
);
console.log(
  row(
    'RSS after sync (MB; peak so far)',
    `${afterSync.rssMB} (${afterSync.hwmMB})`,
    '< 300',
    afterSync.rssMB < TARGETS.rssMB,
  ),
);
console.log(
  row(
    'RSS after the changes (MB; peak)',
    `${afterChanges.rssMB} (${afterChanges.hwmMB})`,
    '< 300',
    afterChanges.rssMB < TARGETS.rssMB,
  ),
);
console.log(
  row(
    '  JS heap used / total (MB), after sync → after changes',
    `${afterSync.heapUsedMB}/${afterSync.heapTotalMB} → ${afterChanges.heapUsedMB}/${afterChanges.heapTotalMB}`,
    '',
    undefined,
  ),
);
console.log(row('no-op: request through the gateway (ms, med / max)', mm(rtts), '', undefined));
console.log(
  row(
    `full recompile, "configuration applied" ms (med / max of ${rc.length})`,
    mm(rc),
    '< 250',
    max(rc) < TARGETS.recompileMs,
  ),
);
console.log(
  row(
    'full recompile, apply → log line − 50 ms hold-off (ms)',
    mm(rcWall),
    '< 250',
    max(rcWall) < TARGETS.recompileMs,
  ),
);
console.log(
  row(
    `EndpointSlice change, "endpoints applied" ms (of ${ec.length})`,
    mm(ec),
    '< 10',
    max(ec) < TARGETS.endpointsComputeMs,
  ),
);
console.log(
  row(
    'EndpointSlice change, apply → new backend answers (ms)',
    mm(ev),
    '< 200',
    max(ev) < TARGETS.endpointsVisibleMs,
  ),
);
console.log(row('gateway exit after SIGTERM', `${exit.code ?? exit.signal}`, '', undefined));

const out = values.json ?? join(here, 'results', `cluster-scale-${result.date.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${asFormatted(result)}\n`);
console.log(`\n${out}`);
process.exit(0);
