// The scale scenario of standalone mode (issue 10, item 5): the gateway CLI (a child process,
// `--config DIR`) serving a directory of generate-objects.mjs's YAML — 10,000 Ingresses × 5 paths,
// 10,000 Services, 10,000 EndpointSlices × 3 endpoints, one file per namespace. Prints one table
// against the issue's targets and writes the figures as JSON to benchmarks/results/ (not committed).
//
//   node benchmarks/file-scale.mjs [--ingresses 10000] [--runs 3] [--changes 5] [--translates 10]
//                                  [--node-arg ARG]... [--node-defaults] [--cpu-prof DIR] [--json FILE]
//                                  [--workers N (1: one process, as the Deployment runs)]
//
// Per run, a fresh gateway: spawn → /readyz 200 (polled every 10 ms), VmRSS sampled every 20 ms and
// VmHWM (the kernel's peak) read at the end, then `--changes` one-file changes: ns-0.yaml rewritten
// (write to a temporary name, rename over it, as editors do) so that app-0 is answered by the other of
// two real backends (`--change ingress`: its Ingress points at another Service; `--change slice`: its
// EndpointSlice moves); timed from the rename to the first request answered by the new backend (polled
// every 2 ms). In this process, after the runs: translate() of the whole set (which compiles the route
// table) `--translates` times, and route lookups on its table (see `lookups` below). Only loopback
// addresses are used; every wait is bounded and a watchdog stops the run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  endpointSlice,
  generateObjects,
  hostOf,
  ingress,
  namespaceOf,
  service,
  toYaml,
  writeYamlDirectory,
} from './generate-objects.mjs';
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
    namespaces: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    changes: { type: 'string', default: '5' },
    translates: { type: 'string', default: '10' },
    change: { type: 'string', default: 'ingress' },
    'cpu-prof': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'node-defaults': { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    'keep-dir': { type: 'boolean', default: false },
    json: { type: 'string' },
    'timeout-s': { type: 'string', default: '600' },
  },
});
if (values.help) {
  printUsage(import.meta.url);
  process.exit(0);
}
const N = Number(values.ingresses);
const NAMESPACES = Number(values.namespaces);
const RUNS = Number(values.runs);
const CHANGES = Number(values.changes);
const TRANSLATES = Number(values.translates);
const CHANGE = values.change;
if (CHANGE !== 'ingress' && CHANGE !== 'slice') throw new Error('--change: ingress or slice');
const TARGETS = { readyMs: 3000, rssMB: 300, changeMs: 1000, translateMs: 250, lookupP99Us: 2 };

const { cleanups, cleanup } = guardRun('file-scale', Number(values['timeout-s']));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => {
  const s = sorted(xs);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const r1 = (x) => Math.round(x * 10) / 10;
const mmm = (xs) => ({ min: r1(Math.min(...xs)), median: r1(median(xs)), max: r1(Math.max(...xs)) });
const fmt = (s, unit = '') => `${s.min} / ${s.median} / ${s.max}${unit}`;

// --- two real backends on distinct loopback IPs, each answering its own name ---

const backend = (ip, name) => namedBackend(ip, name, cleanups);
const A = await backend('127.0.90.1', 'backend-a');
const B = await backend('127.0.90.2', 'backend-b');
const MEASURED = 0; // app-0 in ns-0: its EndpointSlice points at A or B, every other one at fake endpoints

// --- the directory ---

const dir = mkdtempSync(join(tmpdir(), 'file-scale-'));
if (!values['keep-dir']) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
const objects = generateObjects({
  ingresses: N,
  namespaces: NAMESPACES,
  managedFields: false,
  endpoints: { [MEASURED]: { addresses: [A.ip], port: A.port } },
});
const files = writeYamlDirectory(dir, objects);
const bytes = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
const measuredNs = namespaceOf(MEASURED, NAMESPACES);
const measuredFile = join(dir, `${measuredNs}.yaml`);
const measuredObjects = objects.filter((o) => o.metadata.namespace === measuredNs);
const sliceIndex = measuredObjects.findIndex(
  (o) => o.kind === 'EndpointSlice' && o.metadata.name.startsWith(`app-${MEASURED}-`),
);
const ingressIndex = measuredObjects.findIndex(
  (o) => o.kind === 'Ingress' && o.metadata.name === `app-${MEASURED}`,
);
// For `--change ingress`: a second Service, `app-0-b`, whose one endpoint is B.
const serviceB = service(MEASURED, { namespaces: NAMESPACES });
serviceB.metadata = { ...serviceB.metadata, name: `app-${MEASURED}-b` };
const sliceB = endpointSlice(MEASURED, { namespaces: NAMESPACES, addresses: [B.ip], port: B.port });
sliceB.metadata = {
  ...sliceB.metadata,
  name: `app-${MEASURED}-b-abcde`,
  labels: { ...sliceB.metadata.labels, 'kubernetes.io/service-name': `app-${MEASURED}-b` },
};
/**
 * ns-0.yaml with app-0 answered by `b`, written as editors and ConfigMap updates do: to a temporary
 * name, then renamed over it. `--change slice`: app-0's EndpointSlice moves to `b` (no route changes);
 * `--change ingress`: app-0's Ingress points its paths at Service app-0 (on A) or app-0-b (on B), a
 * change of routes.
 */
function rewriteMeasuredFile(b, generation) {
  const list = measuredObjects.slice();
  if (CHANGE === 'slice') {
    list[sliceIndex] = endpointSlice(MEASURED, {
      namespaces: NAMESPACES,
      addresses: [b.ip],
      port: b.port,
      generation,
    });
  } else {
    const target = b === A ? `app-${MEASURED}` : `app-${MEASURED}-b`;
    const ing = ingress(MEASURED, { namespaces: NAMESPACES });
    for (const rule of ing.spec.rules) {
      for (const path of rule.http.paths)
        path.backend = { service: { name: target, port: { name: 'http' } } };
    }
    list[ingressIndex] = ing;
    list.push(serviceB, sliceB);
  }
  const tmp = join(dir, `.${measuredNs}.yaml.tmp`);
  writeFileSync(tmp, toYaml(list));
  renameSync(tmp, measuredFile);
}
console.error(
  `file-scale: ${objects.length} objects in ${files.length} files, ${r1(bytes / 2 ** 20)} MiB of YAML under ${dir}`,
);

// --- one gateway run ---

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMB: r1(kb('VmRSS') / 1024), hwmMB: r1(kb('VmHWM') / 1024) };
}

/** The largest VmHWM among the gateway's child processes (its workers with --workers N), or null. */
function workersHwmMB(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {}
  let max = null;
  for (const c of children) {
    try {
      max = Math.max(max ?? 0, rssOf(Number(c)).hwmMB);
    } catch {}
  }
  return max;
}

/** CPU seconds (user + system, all threads) the process has used: steadier than wall time on a busy machine. */
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
}

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

async function run(index) {
  rewriteMeasuredFile(A, 0);
  const nodeArgs = values['node-defaults'] ? [] : [...DEPLOYED_NODE_ARGS];
  nodeArgs.push(...values['node-arg']);
  if (values['cpu-prof'] !== undefined && index === 0) {
    mkdirSync(values['cpu-prof'], { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`);
  }
  const args = [
    ...nodeArgs,
    join(root, 'apps/gateway/dist/cli.js'),
    '--config',
    dir,
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
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: gatewayEnv(values['node-defaults']),
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopping = false;
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(stop);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  exited.then(({ code, signal }) => {
    if (!stopping)
      fail(new Error(`gateway exited early (code ${code}, signal ${signal}): ${stderr.slice(-4000)}`));
  });

  // VmRSS every 20 ms: the curve; VmHWM at the end is the kernel's own peak, between samples too.
  let peakSampledMB = 0;
  const sampler = setInterval(() => {
    try {
      peakSampledMB = Math.max(peakSampledMB, rssOf(child.pid).rssMB);
    } catch {}
  }, 20);

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
  const waitLine = (pred, { fromIndex = 0, timeoutMs = 60_000 } = {}) => {
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
  };

  const listening = await waitLine((l) => l.msg === 'gateway listening');
  const ports = { http: listening.http, metrics: listening.metrics };
  let readyAt;
  for (const deadline = performance.now() + 120_000; performance.now() < deadline; await sleep(10)) {
    const res = await get(ports.metrics, '/readyz').catch(() => undefined);
    if (res?.status === 200) {
      readyAt = performance.now();
      break;
    }
  }
  if (readyAt === undefined) throw new Error('/readyz never answered 200');
  const firstApply = lines.find((l) => l.msg === 'configuration applied');
  const atReady = rssOf(child.pid);
  const cpuAtReadyS = cpuSecondsOf(child.pid);

  const viaGateway = () => get(ports.http, '/', { host: hostOf(MEASURED) });
  const first = await viaGateway();
  if (first.body !== A.name) throw new Error(`expected ${A.name}, got ${first.status} ${first.body}`);

  const changes = [];
  let current = A;
  for (let i = 0; i < CHANGES; i++) {
    await sleep(300); // past the watcher's 100 ms debounce: each change is one reload
    const next = current === A ? B : A;
    const from = lines.length;
    const s = performance.now();
    rewriteMeasuredFile(next, i + 1);
    let visibleMs;
    for (const deadline = s + 10_000; performance.now() < deadline; await sleep(2)) {
      const res = await viaGateway().catch(() => undefined);
      if (res?.body === next.name) {
        visibleMs = performance.now() - s;
        break;
      }
    }
    if (visibleMs === undefined) throw new Error(`change ${i}: ${next.name} never answered`);
    const applied = await waitLine((l) => l.msg === 'configuration applied', { fromIndex: from });
    changes.push({ visibleMs: r1(visibleMs), appliedLogMs: applied.ms });
    current = next;
  }
  clearInterval(sampler);
  const end = rssOf(child.pid);
  const workersHwm = workersHwmMB(child.pid);
  await stop();
  return {
    readyMs: r1(readyAt - t0),
    cpuAtReadyMs: r1(cpuAtReadyS * 1000),
    listeningMs: r1(listening.at - t0),
    firstApplyLogMs: firstApply?.ms,
    summary: firstApply?.summary,
    rssAtReadyMB: atReady.rssMB,
    hwmAtReadyMB: atReady.hwmMB,
    rssEndMB: end.rssMB,
    hwmMB: end.hwmMB,
    workersHwmMB: workersHwm,
    peakSampledMB,
    changes,
  };
}

const runs = [];
for (let i = 0; i < RUNS; i++) {
  const r = await run(i);
  runs.push(r);
  console.error(
    `file-scale: run ${i + 1}: ready ${r.readyMs} ms, VmHWM ${r.hwmMB} MB${r.workersHwmMB === null ? '' : ` (workers: ${r.workersHwmMB} MB)`}, changes ${r.changes.map((c) => c.visibleMs).join(', ')} ms`,
  );
}

// --- in this process: translate + compile of the whole set, and lookups on its table ---

const imp = (p) => import(pathToFileURL(join(root, p)).href);
const { loadConfig } = await imp('packages/source-file/dist/index.js');
const { translate, defaultTranslateOptions } = await imp('packages/translate/dist/index.js');
let s = performance.now();
const loaded = await loadConfig(dir);
const loadMs = performance.now() - s;
if (loaded.diagnostics.some((d) => d.severity === 'error')) throw new Error('the directory has errors');
const options = { ...defaultTranslateOptions(), now: Date.now() };
const translateMs = [];
const translateCpuMs = [];
let translated;
let coldTranslateMs;
for (let i = 0; i < TRANSLATES + 1; i++) {
  s = performance.now();
  const cpu = process.cpuUsage();
  translated = translate(loaded.snapshot, options);
  // The route table is compiled when first read (as the serving process reads it): part of the time.
  void translated.config.routes;
  const ms = performance.now() - s;
  const used = process.cpuUsage(cpu);
  // The first one is cold (as the gateway's first compile); the others are what a reload costs.
  if (i === 0) coldTranslateMs = r1(ms);
  else {
    translateMs.push(ms);
    translateCpuMs.push((used.user + used.system) / 1000);
  }
}
const routes = translated.config.routes;

// Lookups: 4,096 (host, path) pairs drawn with a fixed seed — known hosts with paths that hit each kind
// of rule (Exact, deep Prefix, `/`), and 1 in 8 unknown hosts (404) — looked up round-robin.
let seed = 42;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const PATHS = ['/', '/exact', '/api', '/api/v1/users/42', '/static/js/app.js', '/nope/deep/er'];
const pairs = [];
for (let i = 0; i < 4096; i++) {
  const host = rand(8) === 0 ? `unknown-${rand(N)}.bench.test` : hostOf(rand(N));
  pairs.push([host, PATHS[rand(PATHS.length)]]);
}
let sink = 0;
const lookup = (k) => {
  const [host, path] = pairs[k & 4095];
  if (routes.match(host, path) !== undefined) sink++;
};
for (let k = 0; k < 1_000_000; k++) lookup(k); // warm-up: optimised code, as in a running gateway
// (1) batches: 64 lookups timed together, per-lookup mean of each batch; p50/p99 over 20,000 batches.
const BATCH = 64;
const batchNs = [];
for (let b = 0, k = 0; b < 20_000; b++) {
  const t = process.hrtime.bigint();
  for (let j = 0; j < BATCH; j++) lookup(k++);
  batchNs.push(Number(process.hrtime.bigint() - t) / BATCH);
}
// (2) one lookup per timer pair, 200,000 of them; the timer pair's own cost (median of 200,000 empty
// pairs) is reported beside it, not subtracted.
const singleNs = [];
const emptyNs = [];
for (let k = 0; k < 200_000; k++) {
  const t = process.hrtime.bigint();
  lookup(k);
  singleNs.push(Number(process.hrtime.bigint() - t));
  const e = process.hrtime.bigint();
  emptyNs.push(Number(process.hrtime.bigint() - e));
}
void sink;

const result = {
  date: new Date().toISOString(),
  node: process.version,
  ingresses: N,
  files: files.length,
  yamlMiB: r1(bytes / 2 ** 20),
  nodeArgs: values['node-defaults'] ? [] : DEPLOYED_NODE_ARGS,
  env: values['node-defaults'] ? {} : DEPLOYED_ENV,
  change: CHANGE,
  runs,
  inProcess: {
    loadConfigMs: r1(loadMs),
    translateMs: translateMs.map(r1),
    translateCpuMs: translateCpuMs.map(r1),
    coldTranslateMs,
    rules: translated.config.rules.rules.length,
    lookupBatchNs: { p50: r1(quantile(batchNs, 0.5)), p99: r1(quantile(batchNs, 0.99)), batch: BATCH },
    lookupSingleNs: {
      p50: r1(quantile(singleNs, 0.5)),
      p99: r1(quantile(singleNs, 0.99)),
      timerPairP50: r1(quantile(emptyNs, 0.5)),
      timerPairP99: r1(quantile(emptyNs, 0.99)),
    },
  },
};

// --- the table ---

const allChanges = runs.flatMap((r) => r.changes);
const rows = [
  [
    'spawn → /readyz 200 (min / med / max)',
    fmt(mmm(runs.map((r) => r.readyMs)), ' ms'),
    `< ${TARGETS.readyMs} ms`,
  ],
  ['  gateway CPU (user + system) at ready', fmt(mmm(runs.map((r) => r.cpuAtReadyMs)), ' ms'), ''],
  ['first "configuration applied" ms (translate + swap)', fmt(mmm(runs.map((r) => r.firstApplyLogMs))), ''],
  ['peak RSS: VmHWM at the end of a run', fmt(mmm(runs.map((r) => r.hwmMB)), ' MB'), `< ${TARGETS.rssMB} MB`],
  ['peak RSS: VmHWM at ready', fmt(mmm(runs.map((r) => r.hwmAtReadyMB)), ' MB'), ''],
  ...(runs[0].workersHwmMB === null
    ? []
    : [
        [
          'peak RSS of a worker: VmHWM at the end',
          fmt(mmm(runs.map((r) => r.workersHwmMB)), ' MB'),
          `< ${TARGETS.rssMB} MB`,
        ],
      ]),
  ['peak of VmRSS sampled every 20 ms', fmt(mmm(runs.map((r) => r.peakSampledMB)), ' MB'), ''],
  ['VmRSS at ready', fmt(mmm(runs.map((r) => r.rssAtReadyMB)), ' MB'), ''],
  ['VmRSS at the end of a run', fmt(mmm(runs.map((r) => r.rssEndMB)), ' MB'), ''],
  [
    `one-file change (${CHANGE}) → traffic (${allChanges.length} changes)`,
    allChanges.length === 0 ? '-' : fmt(mmm(allChanges.map((c) => c.visibleMs)), ' ms'),
    `< ${TARGETS.changeMs} ms`,
  ],
  [
    '  its "configuration applied" ms',
    allChanges.length === 0 ? '-' : fmt(mmm(allChanges.map((c) => c.appliedLogMs))),
    '',
  ],
  [
    `translate + compile, in process (${translateMs.length} warm)`,
    fmt(mmm(translateMs), ' ms'),
    `< ${TARGETS.translateMs} ms`,
  ],
  ['  its CPU time (user + system, GC threads too)', fmt(mmm(translateCpuMs), ' ms'), ''],
  ['  the first (cold) one', `${coldTranslateMs} ms`, ''],
  [
    `route lookup, batches of ${BATCH}: p50 / p99`,
    `${result.inProcess.lookupBatchNs.p50} / ${result.inProcess.lookupBatchNs.p99} ns`,
    `p99 < ${TARGETS.lookupP99Us} µs`,
  ],
  [
    'route lookup, one per timer pair: p50 / p99',
    `${result.inProcess.lookupSingleNs.p50} / ${result.inProcess.lookupSingleNs.p99} ns`,
    '',
  ],
  [
    '  an empty timer pair: p50 / p99',
    `${result.inProcess.lookupSingleNs.timerPairP50} / ${result.inProcess.lookupSingleNs.timerPairP99} ns`,
    '',
  ],
  ['loadConfig of the directory, in process', `${r1(loadMs)} ms`, ''],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(
  `file-scale: ${N} Ingresses (${translated.config.rules.rules.length} rules), ${files.length} files, ${result.yamlMiB} MiB; ${RUNS} runs; ${process.version}`,
);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);

const out =
  values.json ?? join(here, 'results', `file-scale-${result.date.slice(0, 19).replaceAll(':', '')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${asFormatted(result)}\n`);
console.error(`file-scale: figures written to ${out}`);
await cleanup();
process.exit(0);
