// The yardstick: the gateway against nginx configured like ingress-nginx (forwarded headers, buffered
// access log, upstream keep-alive 320), both in front of the same backend (a separate nginx answering
// a small body, 1 MiB, and POSTs), one process each on one core, over several scenarios. wrk runs
// interleaved, bounded rounds (gateway and nginx alternate, the order flips every round, so drift on a
// shared machine hits both), and the script prints ONE table (req/s, p50, p99, peak RSS, CPU µs per
// request of the proxy, gateway/nginx ratios) and writes it as JSON to benchmarks/results/.
//
//   apt-get install -y wrk nginx-light      (Debian's: wrk has LuaJIT, nginx has ssl)
//   node benchmarks/proxy-vs-nginx.mjs [--rounds 5] [--duration 8] [--scenarios small-c64,https]
//                                      [--quick] [--json FILE]            (--help lists every flag)
//
// Pinning (taskset): the proxy under test on core 1; wrk, the backend and this script on core 0.
// Only loopback addresses are used; every wrk run is bounded by its duration (and killed after
// duration + 20 s), every wait has a deadline, and a watchdog ends the whole run.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateObjects, hostOf, writeYamlDirectory } from './generate-objects.mjs';
import { asFormatted } from './json-format.mjs';
import { DEPLOYED_NODE_ARGS, gatewayEnv } from './run-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

// --- scenarios -------------------------------------------------------------------------------------

const MIB = 1024 * 1024;
const BIG_INGRESSES = 10000;
/** The generated Ingress the 10k scenario sends its requests to (middle of the set, real endpoints). */
const BIG_TARGET = 5000;
const POST_LUA = `wrk.method = "POST"
wrk.body = string.rep("x", ${MIB})
wrk.headers["Content-Type"] = "application/octet-stream"
`;

/**
 * Each scenario runs against its own freshly started gateway and nginx (so RSS is that scenario's),
 * `setup` says which configuration they get.
 */
const SCENARIOS = {
  'small-c64': { what: 'GET, 23 B body, keep-alive', c: 64, path: '/' },
  'small-c256': { what: 'GET, 23 B body, keep-alive', c: 256, path: '/' },
  'response-1m': { what: 'GET, 1 MiB body', c: 16, path: '/1m' },
  'post-1m': { what: 'POST 1 MiB body (wrk lua)', c: 16, path: '/upload', lua: POST_LUA },
  https: { what: 'GET over TLS, keep-alive', c: 64, path: '/', tls: true },
  'conn-close': { what: 'GET, Connection: close', c: 64, path: '/', headers: ['Connection: close'] },
  'ingresses-10k': {
    what: `GET, ${BIG_INGRESSES} Ingresses / server blocks`,
    c: 64,
    path: '/',
    big: true,
    host: hostOf(BIG_TARGET),
  },
  'config-swaps': { what: 'GET while the config is swapped', c: 64, path: '/', swaps: true },
};

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    scenarios: { type: 'string' },
    quick: { type: 'boolean', default: false },
    connections: { type: 'string' },
    swaps: { type: 'string' },
    'swap-interval-ms': { type: 'string', default: '150' },
    'proxy-core': { type: 'string', default: '1' },
    'load-core': { type: 'string', default: '0' },
    'no-pin': { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'node-defaults': { type: 'boolean', default: false },
    json: { type: 'string' },
    'keep-dir': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  process.stdout.write(`Usage: node benchmarks/proxy-vs-nginx.mjs [flags]
  --rounds N             measured rounds per scenario and target (5; --quick 1)
  --duration S           seconds per wrk run (8; --quick 3)
  --warmup S             unmeasured warm-up run per target before the rounds (2; --quick 1)
  --scenarios a,b        subset of: ${Object.keys(SCENARIOS).join(', ')}
  --quick                1 round of 3 s, 25 swaps (a smoke test, not a measurement)
  --connections N        override every scenario's connection count
  --swaps N              configuration swaps / nginx reloads per config-swaps round (100; --quick 25)
  --swap-interval-ms MS  time between swaps (150: the file source debounces 100 ms, so at 80 ms the
                         gateway applies only the last write of a burst; 50 ms of slack for timer jitter)
  --proxy-core N         core of the proxy under test (1); --load-core N: wrk, backend, this script (0)
  --no-pin               no taskset
  --node-arg ARG         extra node flag for the gateway (repeatable); --node-defaults: node's own V8
                         settings instead of the deployed --max-semi-space-size=8 --no-parallel-scavenge
                         --max-old-space-size=320
  --json FILE            where to write the results (default benchmarks/results/yardstick-<date>.json)
  --keep-dir             keep the temporary directory (configs, logs)
`);
  process.exit(0);
}

const quick = opts.quick;
// Five: on this shared machine one build's rounds differed by up to ±45 % within a run, and the median
// of three moved with one or two rounds caught by the host's load; the median of five needs three.
const rounds = Number(opts.rounds ?? (quick ? 1 : 5));
const duration = Number(opts.duration ?? (quick ? 3 : 8));
const warmup = Number(opts.warmup ?? (quick ? 1 : 2));
const swaps = Number(opts.swaps ?? (quick ? 25 : 100));
const swapIntervalMs = Number(opts['swap-interval-ms']);
const selected = opts.scenarios === undefined ? Object.keys(SCENARIOS) : opts.scenarios.split(',');
for (const name of selected) {
  if (!(name in SCENARIOS)) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
}
for (const [n, v] of [
  ['rounds', rounds],
  ['duration', duration],
  ['swaps', swaps],
  ['swap-interval-ms', swapIntervalMs],
]) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${n} must be a positive number`);
    process.exit(2);
  }
}

for (const tool of ['wrk', 'nginx', 'openssl', ...(opts['no-pin'] ? [] : ['taskset'])]) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    console.error(`the yardstick needs ${tool}: apt-get install -y wrk nginx-light openssl util-linux`);
    process.exit(1);
  }
}
const pin = !opts['no-pin'] && availableParallelism() >= 2;
if (!opts['no-pin'] && !pin) console.error('one core only: running without taskset');
const PROXY_CORE = opts['proxy-core'];
const LOAD_CORE = opts['load-core'];
/** argv prefix that pins a command to `core`. */
const pinned = (core) => (pin ? ['taskset', '-c', core] : []);
if (pin) {
  // This script (its samplers, the swap writer) shares the load core with wrk and the backend.
  execFileSync('taskset', ['-a', '-p', '-c', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const nodeArgs = [...(opts['node-defaults'] ? [] : DEPLOYED_NODE_ARGS), ...opts['node-arg']];

// --- the whole run is bounded ----------------------------------------------------------------------

const perScenario = (s) => {
  const run = SCENARIOS[s].swaps
    ? Math.max(duration, Math.ceil((swaps * swapIntervalMs) / 1000 + 0.5))
    : duration;
  return 2 * (warmup + rounds * run) + 60; // + start, probes, stop
};
const budgetS = selected.reduce((sum, s) => sum + perScenario(s), 60) * 1.5;
const children = new Set();
const watchdog = setTimeout(() => {
  console.error(`watchdog: the run took more than ${budgetS.toFixed(0)} s, stopping`);
  process.exit(3);
}, budgetS * 1000);
watchdog.unref();
process.on('exit', () => {
  for (const c of children) {
    // A SIGKILLed nginx master leaves its workers behind: they go first.
    if (c.nginx) for (const w of childrenOf(c.pid)) process.kill(w, 'SIGKILL');
    c.kill('SIGKILL');
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// --- files ------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'gw-yard-'));
chmodSync(dir, 0o755); // nginx's workers (nobody) write their temp files below it
/** A port free right now on `host` (other benchmarks may share the machine: no fixed ports). */
async function freePort(host) {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}
const BACKEND = { ip: '127.0.20.1', port: await freePort('127.0.20.1') };
const PORTS = {
  nginx: await freePort('127.0.0.1'),
  nginxTls: await freePort('127.0.0.1'),
  gateway: await freePort('127.0.0.1'),
  gatewayTls: await freePort('127.0.0.1'),
  gatewayOne: await freePort('127.0.0.1'),
};
const BENCH_HOST = 'bench.example.test';
const TLS_HOST = 'localhost'; // resolves to 127.0.0.1 here, and wrk sends it as SNI

mkdirSync(join(dir, 'www'));
writeFileSync(join(dir, 'www', '1m'), Buffer.alloc(MIB, 'x'));
writeFileSync(join(dir, 'post.lua'), POST_LUA);
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '7',
    '-subj',
    `/CN=${TLS_HOST}`,
    '-addext',
    `subjectAltName=DNS:${TLS_HOST}`,
    '-keyout',
    join(dir, 'tls.key'),
    '-out',
    join(dir, 'tls.crt'),
  ],
  { stdio: 'ignore', timeout: 20_000 },
);

const temps = (p) =>
  `client_body_temp_path ${dir}/${p}body; proxy_temp_path ${dir}/${p}proxy; ` +
  `fastcgi_temp_path ${dir}/${p}fcgi; uwsgi_temp_path ${dir}/${p}uwsgi; scgi_temp_path ${dir}/${p}scgi;`;

// The backend answers `/` with 23 bytes, `/1m` with a 1 MiB file (sendfile), `/upload` only once it
// has read the whole body (into memory; then a bodiless subrequest to itself answers), and
// `/__headers` echoes what a proxy forwarded (the fairness check below). A plain `return 200` would
// answer a POST before reading its body, which is not what an upload endpoint does.
writeFileSync(
  join(dir, 'backend.conf'),
  `worker_processes 1;
pid ${dir}/backend.pid;
error_log ${dir}/backend-error.log;
events { worker_connections 8192; }
http {
  access_log off;
  ${temps('b')}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 100000; keepalive_timeout 120s;
  client_max_body_size 0;
  default_type application/octet-stream;
  upstream self { server ${BACKEND.ip}:${BACKEND.port}; keepalive 64; }
  server {
    listen ${BACKEND.ip}:${BACKEND.port} backlog=4096;
    location / { return 200 "hello from the backend\\n"; }
    location = /1m { root ${dir}/www; }
    location = /upload {
      client_body_buffer_size 2m; client_max_body_size 0;
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_pass http://self/;
    }
    location = /__headers {
      return 200 "host=$http_host\\nx-forwarded-for=$http_x_forwarded_for\\nx-forwarded-proto=$http_x_forwarded_proto\\nx-forwarded-host=$http_x_forwarded_host\\nx-forwarded-port=$http_x_forwarded_port\\nx-real-ip=$http_x_real_ip\\nx-request-id=$http_x_request_id\\nconnection=$http_connection\\nupgrade=$http_upgrade\\n";
    }
  }
}
`,
);

/**
 * nginx as ingress-nginx configures it (controller/nginx.tmpl defaults), minus its Lua (balancer,
 * monitor, request-id handling): forwarded headers as the gateway sets them (design.md, "HTTP
 * behaviour"), one shared upstream with keep-alive 320, access log `upstreaminfo` to a file with
 * buffer=32k, proxy_buffering off, request buffering on (8k in memory, then a temp file), 1m bodies.
 */
function nginxConfig({ name, big = false, swap = 0, errorLevel = 'error' }) {
  const proxyLocation = `proxy_pass http://upstream_balancer;`;
  const servers = [];
  if (big) {
    // One server block per Ingress, its five paths as locations, as ingress-nginx renders them.
    for (let i = 0; i < BIG_INGRESSES; i++) {
      servers.push(`  server {
    listen 127.0.0.1:${PORTS.nginx}${i === 0 ? ' backlog=4096' : ''};
    server_name ${hostOf(i)};
    set $proxy_upstream_name "ns-${i % 100}-app-${i}-80";
    location = /exact { ${proxyLocation} }
    location /static { ${proxyLocation} }
    location /api/v1 { ${proxyLocation} }
    location /api { ${proxyLocation} }
    location / { ${proxyLocation} }
  }`);
    }
  } else {
    servers.push(`  server {
    listen 127.0.0.1:${PORTS.nginx} backlog=4096;
    server_name ${BENCH_HOST};
    set $proxy_upstream_name "bench-app-80";
    location / { ${proxyLocation} }
${swap > 0 ? `    location /v${swap} { ${proxyLocation} }\n` : ''}  }
  server {
    listen 127.0.0.1:${PORTS.nginxTls} ssl backlog=4096;
    server_name ${TLS_HOST};
    set $proxy_upstream_name "bench-app-80";
    ssl_certificate ${dir}/tls.crt;
    ssl_certificate_key ${dir}/tls.key;
    location / { ${proxyLocation} }
  }`);
  }
  return `worker_processes 1;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log ${errorLevel};
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; use epoll; }
http {
  ${temps(name)}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 75s; keepalive_requests 1000;
  client_header_buffer_size 1k; large_client_header_buffers 4 8k;
  client_body_buffer_size 8k; client_max_body_size 1m;
  server_tokens off;
  server_names_hash_max_size ${big ? 32768 : 1024}; server_names_hash_bucket_size 128;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';
  ssl_prefer_server_ciphers on;
  ssl_session_cache shared:SSL:10m; ssl_session_timeout 10m; ssl_session_tickets off;
  ssl_buffer_size 4k;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  map $http_x_request_id $req_id { default $http_x_request_id; '' $request_id; }
  log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';
  access_log ${dir}/${name}-access.log upstreaminfo buffer=32k;
  upstream upstream_balancer {
    server ${BACKEND.ip}:${BACKEND.port};
    keepalive 320; keepalive_timeout 60s; keepalive_requests 10000;
  }
  proxy_http_version 1.1;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $connection_upgrade;
  proxy_set_header Host $http_host;
  proxy_set_header X-Request-ID $req_id;
  proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Host $http_host;
  proxy_set_header X-Forwarded-Port $server_port;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_set_header Proxy "";
  proxy_connect_timeout 5s; proxy_send_timeout 60s; proxy_read_timeout 60s;
  proxy_buffering off; proxy_buffer_size 4k; proxy_buffers 4 4k; proxy_request_buffering on;
  proxy_next_upstream error timeout; proxy_next_upstream_tries 3;
  proxy_redirect off;
${servers.join('\n')}
}
`;
}

const b64 = (file) => readFileSync(file).toString('base64');

/** The gateway's file configuration for the small scenarios: the bench host, and a TLS host. */
function gatewayYaml(swap = 0) {
  const paths = [`{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}`];
  if (swap > 0)
    paths.push(`{path: /v${swap}, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}`);
  return `apiVersion: v1
kind: Service
metadata: {name: app, namespace: bench}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: app-1, namespace: bench, labels: {kubernetes.io/service-name: app}}
addressType: IPv4
ports: [{name: http, port: ${BACKEND.port}}]
endpoints: [{addresses: ["${BACKEND.ip}"]}]
---
apiVersion: v1
kind: Secret
metadata: {name: bench-tls, namespace: bench}
type: kubernetes.io/tls
data: {tls.crt: ${b64(join(dir, 'tls.crt'))}, tls.key: ${b64(join(dir, 'tls.key'))}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: bench}
spec:
  rules:
    - host: ${BENCH_HOST}
      http: {paths: [${paths.join(', ')}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app-tls, namespace: bench}
spec:
  tls: [{hosts: [${TLS_HOST}], secretName: bench-tls}]
  rules:
    - host: ${TLS_HOST}
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}
`;
}

/** Atomic replace (write + rename), as editors and a ConfigMap volume's symlink swap do. */
function replaceFile(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

// --- processes --------------------------------------------------------------------------------------

function track(child, label) {
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) {
      console.error(`${label} exited unexpectedly (${signal ?? code}); stopping`);
      process.exit(1);
    }
  });
  return child;
}

async function stop(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stopping = true;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function startNginx(name, config, core) {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, config);
  const [cmd, ...args] = [...pinned(core), 'nginx', '-p', dir, '-c', conf, '-g', 'daemon off;'];
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] }), `nginx ${name}`);
  child.nginx = true;
  child.conf = conf;
  child.errorLog = join(dir, `${name}-error.log`);
  child.accessLog = join(dir, `${name}-access.log`);
  return child;
}

/** The gateway as deployed; its stdout (JSON logs and the access log) goes to a file, as nginx's. */
function startGateway(name, config, { https = false, port = PORTS.gateway } = {}) {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'w');
  const [cmd, ...args] = [
    ...pinned(PROXY_CORE),
    process.execPath,
    ...nodeArgs,
    join(root, 'apps/gateway/dist/cli.js'),
    '--config',
    config,
    '--bind-address',
    '127.0.0.1',
    '--http-port',
    String(port),
    '--https-port',
    https ? String(PORTS.gatewayTls) : '0',
    '--metrics-port',
    '0',
    // One process on one core, against nginx's one worker (workers-scaling.mjs measures more).
    '--workers',
    '1',
  ];
  const child = track(
    spawn(cmd, args, { stdio: ['ignore', fd, 'inherit'], env: gatewayEnv(opts['node-defaults']) }),
    `gateway ${name}`,
  );
  closeSync(fd);
  child.log = log;
  return child;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, deadlineMs, test) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await test()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const portOpen = (port, host = '127.0.0.1') =>
  new Promise((resolve) => {
    const socket = net.connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** Occurrences of `needle` (ASCII) in a file, read in pieces: a gateway's access log passes 512 MiB. */
const countLines = (file, needle) => {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(8 << 20);
  let carry = '';
  let n = 0;
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const text = carry + chunk.latin1Slice(0, read);
      let last = -1;
      for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) {
        n++;
        last = i + needle.length;
      }
      // A needle may straddle two pieces: keep what could be its start.
      carry = text.slice(Math.max(last, text.length - needle.length + 1));
    }
  } finally {
    closeSync(fd);
  }
  return n;
};

/** One request with node's client (no keep-alive): status and body. */
function request({ tls, port, host, path, headers = {} }) {
  return new Promise((resolve) => {
    const lib = tls ? https : http;
    const req = lib.request(
      {
        host: tls ? TLS_HOST : '127.0.0.1',
        port,
        path,
        agent: false,
        headers: tls ? headers : { host, ...headers },
        rejectUnauthorized: false,
        servername: tls ? TLS_HOST : undefined,
        timeout: 3000,
      },
      (res) => {
        const cert = res.socket.getPeerCertificate?.();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          if (body.length < 4096) body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, body, cert }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
    req.end();
  });
}

// --- /proc ------------------------------------------------------------------------------------------

function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => statOf(p)?.ppid === pid);
  }
}

/**
 * CPU seconds of a process and its children: its own time, what it reaped (nginx's master reaps the
 * workers a reload retires) and its live children's (the nginx worker). The gateway has no children.
 */
function treeCpuS(pid) {
  const s = statOf(pid);
  if (s === undefined) return Number.NaN;
  let ticks = s.self + s.reaped;
  for (const c of childrenOf(pid)) {
    const cs = statOf(c);
    if (cs !== undefined) ticks += cs.self + cs.reaped;
  }
  return ticks / CLK_TCK;
}

function statusKb(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** The processes that serve: the gateway itself; nginx's workers (its master only manages them). */
const servingPids = (t) => (t.kind === 'nginx' ? childrenOf(t.child.pid) : [t.child.pid]);

// --- wrk --------------------------------------------------------------------------------------------

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60000 };
const toMs = (v) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v ?? '');
  return m === null ? Number.NaN : Number(m[1]) * UNIT_MS[m[2]];
};

function parseWrk(out) {
  const num = (re) => Number(re.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = {
    non2xx3xx: num(/Non-2xx or 3xx responses: (\d+)/),
    connect: Number(sock?.[1] ?? 0),
    read: Number(sock?.[2] ?? 0),
    write: Number(sock?.[3] ?? 0),
    timeout: Number(sock?.[4] ?? 0),
  };
  return {
    requests: num(/(\d+) requests in/),
    seconds: toMs(/requests in ([\d.]+\w+),/.exec(out)?.[1]) / 1000,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    errors,
    errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
  };
}

function wrk(scenario, target, seconds) {
  const c = Number(opts.connections ?? scenario.c);
  const args = [
    ...pinned(LOAD_CORE),
    'wrk',
    '-t1',
    `-c${c}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '--latency',
  ];
  if (!scenario.tls) args.push('-H', `Host: ${target.host}`);
  for (const h of scenario.headers ?? []) args.push('-H', h);
  if (scenario.lua) args.push('-s', join(dir, 'post.lua'));
  args.push(`${target.url}${scenario.path}`);
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) reject(new Error(`wrk exited ${code}: ${out}`));
      else resolve({ ...parseWrk(out), raw: out, command: args.join(' ') });
    });
  });
}

/** One measured wrk run: wrk's figures plus the proxy's CPU and RSS over it. */
async function measure(scenario, target, seconds, during) {
  const pid = target.child.pid;
  let peakKb = 0;
  const sample = () => {
    let kb = 0;
    for (const p of servingPids(target)) kb += statusKb(p, 'VmRSS');
    peakKb = Math.max(peakKb, kb);
  };
  sample();
  const sampler = setInterval(sample, 100);
  const cpu0 = treeCpuS(pid);
  const t0 = performance.now();
  const side = during?.();
  const result = await wrk(scenario, target, seconds);
  const sideResult = await side;
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = treeCpuS(pid) - cpu0;
  clearInterval(sampler);
  sample();
  return {
    ...result,
    cpuS,
    corePct: (100 * cpuS) / wallS,
    cpuUsPerReq: result.requests > 0 ? (cpuS * 1e6) / result.requests : Number.NaN,
    rssPeakMb: peakKb / 1024,
    ...(sideResult ?? {}),
  };
}

// --- the fairness check: what each proxy forwards --------------------------------------------------

async function forwardedHeaders(scenario, target) {
  const base = { tls: scenario.tls, port: target.port, host: target.host, path: '/__headers' };
  const parse = (body) =>
    Object.fromEntries(
      body
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
  const plain = await request(base);
  const sent = await request({
    ...base,
    headers: { 'x-forwarded-for': '10.1.2.3', 'x-request-id': 'bench-id-1', connection: 'keep-alive' },
  });
  return {
    plain: { status: plain.status, ...parse(plain.body) },
    sent: { status: sent.status, ...parse(sent.body) },
  };
}

/** Same headers from both, up to the listening port (different per process) and the random id. */
function compareForwarded(scenario, g, n, targets) {
  const problems = [];
  const norm = (h, t) => {
    const o = { ...h };
    if (o['x-forwarded-port'] === String(t.port)) o['x-forwarded-port'] = '<own port>';
    if (/^[0-9a-f]{32}$/.test(o['x-request-id'] ?? '')) o['x-request-id'] = '<32 hex>';
    for (const k of ['host', 'x-forwarded-host']) o[k] = (o[k] ?? '').replace(`:${t.port}`, ':<own port>');
    // HTTP/1.1 keeps alive by default: the gateway's `Connection: keep-alive` (node's client) and
    // nginx's none say the same.
    if (o.connection === 'keep-alive') o.connection = '';
    return o;
  };
  for (const variant of ['plain', 'sent']) {
    const a = norm(g[variant], targets.gateway);
    const b = norm(n[variant], targets.nginx);
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[k] !== b[k]) problems.push(`${variant} ${k}: gateway "${a[k]}" nginx "${b[k]}"`);
    }
  }
  if (g.plain['x-forwarded-proto'] !== (scenario.tls ? 'https' : 'http'))
    problems.push('wrong X-Forwarded-Proto');
  return problems;
}

// --- scenario setup ---------------------------------------------------------------------------------

/**
 * A gateway's configuration file, alone in a directory of its own: the file source watches the file's
 * directory, and the gateway's log written beside it would wake the watcher at every flush.
 */
function configFile(gatewayName) {
  const own = join(dir, `${gatewayName}-config`);
  mkdirSync(own, { recursive: true });
  return join(own, 'gateway.yaml');
}

async function setUp(name, scenario) {
  const gatewayName = `gateway-${name}`;
  const nginxName = `nginx-${name}`;
  let gwConfig;
  let nginxConf;
  if (scenario.big) {
    gwConfig = join(dir, 'objects-10k');
    if (!existsSync(gwConfig)) {
      const objects = generateObjects({
        ingresses: BIG_INGRESSES,
        managedFields: false,
        endpoints: { [BIG_TARGET]: { addresses: [BACKEND.ip], port: BACKEND.port } },
      });
      writeYamlDirectory(gwConfig, objects);
    }
    nginxConf = nginxConfig({ name: nginxName, big: true });
  } else {
    gwConfig = configFile(gatewayName);
    writeFileSync(gwConfig, gatewayYaml());
    nginxConf = nginxConfig({ name: nginxName, errorLevel: scenario.swaps ? 'notice' : 'error' });
  }
  const t0 = performance.now();
  const nginx = startNginx(nginxName, nginxConf, PROXY_CORE);
  const gateway = startGateway(gatewayName, gwConfig, { https: !scenario.big });
  await until('nginx', 60_000, () => portOpen(PORTS.nginx));
  const nginxStartMs = performance.now() - t0;
  await until('the gateway', 120_000, () => countLines(gateway.log, '"gateway listening"') > 0);
  const gatewayStartMs = performance.now() - t0;
  const host = scenario.host ?? BENCH_HOST;
  // With 10,000 Ingresses, the gateway with 1 runs too, interleaved: the lookup cost, free of drift.
  let one;
  if (scenario.big) {
    const config = configFile('gateway-one');
    writeFileSync(config, gatewayYaml());
    one = startGateway('gateway-one', config, { port: PORTS.gatewayOne });
    await until('the gateway with 1 Ingress', 60_000, () => countLines(one.log, '"gateway listening"') > 0);
  }
  const targets = {
    gateway: {
      kind: 'gateway',
      child: gateway,
      host,
      config: gwConfig,
      port: scenario.tls ? PORTS.gatewayTls : PORTS.gateway,
      url: scenario.tls ? `https://${TLS_HOST}:${PORTS.gatewayTls}` : `http://127.0.0.1:${PORTS.gateway}`,
    },
    nginx: {
      kind: 'nginx',
      child: nginx,
      host,
      port: scenario.tls ? PORTS.nginxTls : PORTS.nginx,
      url: scenario.tls ? `https://${TLS_HOST}:${PORTS.nginxTls}` : `http://127.0.0.1:${PORTS.nginx}`,
    },
  };
  if (one !== undefined) {
    targets.gatewayOne = {
      kind: 'gateway',
      child: one,
      host: BENCH_HOST,
      port: PORTS.gatewayOne,
      url: `http://127.0.0.1:${PORTS.gatewayOne}`,
    };
  }
  // Both answer the scenario's request with 200 (over TLS: with the same certificate) before we measure.
  for (const t of Object.values(targets)) {
    await until(`200 from ${t.kind} on ${t.url}${scenario.path} (Host ${t.host})`, 30_000, async () => {
      const r = await request({
        tls: scenario.tls,
        port: t.port,
        host: t.host,
        path: scenario.path === '/upload' ? '/' : scenario.path,
      });
      t.fingerprint = r.cert?.fingerprint256;
      return r.status === 200;
    });
  }
  const fwd = {
    gateway: await forwardedHeaders(scenario, targets.gateway),
    nginx: await forwardedHeaders(scenario, targets.nginx),
  };
  const problems = compareForwarded(scenario, fwd.gateway, fwd.nginx, targets);
  if (scenario.tls && targets.gateway.fingerprint !== targets.nginx.fingerprint) {
    problems.push('the gateway and nginx present different certificates');
  }
  return {
    targets,
    fairness: { forwarded: fwd, problems },
    startMs: { nginx: nginxStartMs, gateway: gatewayStartMs },
  };
}

/** 100 swaps over one round: the gateway's file rewritten (a path added/changed), nginx reloaded. */
function swapper(target) {
  return async () => {
    const before =
      target.kind === 'gateway'
        ? countLines(target.child.log, '"configuration applied"')
        : countLines(target.child.errorLog, ': reconfiguring\n');
    const t0 = performance.now();
    for (let i = 1; i <= swaps; i++) {
      const due = t0 + i * swapIntervalMs;
      await sleep(Math.max(0, due - performance.now()));
      if (target.kind === 'gateway') replaceFile(target.config, gatewayYaml(i));
      else {
        // What `nginx -s reload` does once it has read the pid file: a new configuration, SIGHUP.
        replaceFile(
          target.child.conf,
          nginxConfig({ name: 'nginx-config-swaps', swap: i, errorLevel: 'notice' }),
        );
        process.kill(target.child.pid, 'SIGHUP');
      }
    }
    await sleep(500); // the last swap lands
    const after =
      target.kind === 'gateway'
        ? countLines(target.child.log, '"configuration applied"')
        : countLines(target.child.errorLog, ': reconfiguring\n');
    return { swapsWritten: swaps, swapsApplied: after - before };
  };
}

// --- run --------------------------------------------------------------------------------------------

const versions = {
  node: process.version,
  nginx: String(execFileSync('sh', ['-c', 'nginx -v 2>&1'])).trim(),
  wrk: String(execFileSync('sh', ['-c', 'wrk -v 2>&1 | head -1'])).trim(),
};
const env = {
  cores: availableParallelism(),
  loadavgStart: loadavg(),
  pinned: pin,
  proxyCore: PROXY_CORE,
  loadCore: LOAD_CORE,
};
console.log(
  `yardstick: ${selected.length} scenario(s), ${rounds} round(s) × ${duration} s per target, warm-up ${warmup} s; ` +
    `proxy on core ${pin ? PROXY_CORE : '-'}, wrk+backend on core ${pin ? LOAD_CORE : '-'}; ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);

const backend = startNginx('backend', readFileSync(join(dir, 'backend.conf'), 'utf8'), LOAD_CORE);
await until('the backend', 10_000, () => portOpen(BACKEND.port, BACKEND.ip));

const results = {};
try {
  for (const name of selected) {
    const scenario = SCENARIOS[name];
    const runS = scenario.swaps
      ? Math.max(duration, Math.ceil((swaps * swapIntervalMs) / 1000 + 0.5))
      : duration;
    process.stdout.write(`${name}: starting… `);
    const { targets, fairness, startMs } = await setUp(name, scenario);
    if (fairness.problems.length > 0) {
      console.log(`\n  WARNING, not a like-for-like comparison:\n    ${fairness.problems.join('\n    ')}`);
    }
    const order = Object.keys(targets); // gateway, nginx[, gatewayOne]
    const runs = Object.fromEntries(order.map((t) => [t, []]));
    if (warmup > 0) {
      for (const t of order) await wrk(scenario, targets[t], warmup);
    }
    for (let r = 0; r < rounds; r++) {
      // The order flips every round (g n, n g, …), so a drift in the machine's load hits both alike.
      for (const t of r % 2 === 0 ? order : [...order].reverse()) {
        process.stdout.write(`${t[0]}${r + 1} `);
        runs[t].push(
          await measure(scenario, targets[t], runS, scenario.swaps ? swapper(targets[t]) : undefined),
        );
      }
    }
    const hwmMb = {
      gateway: statusKb(targets.gateway.child.pid, 'VmHWM') / 1024,
      nginx: Math.max(0, ...servingPids(targets.nginx).map((p) => statusKb(p, 'VmHWM') / 1024)),
      nginxMaster: statusKb(targets.nginx.child.pid, 'VmRSS') / 1024,
    };
    if (targets.gatewayOne !== undefined)
      hwmMb.gatewayOne = statusKb(targets.gatewayOne.child.pid, 'VmHWM') / 1024;
    for (const t of Object.values(targets)) {
      await stop(t.child, t.kind === 'nginx' ? 'SIGQUIT' : 'SIGTERM'); // graceful: logs are flushed
    }
    const accessLogLines = {
      gateway: countLines(targets.gateway.child.log, '"req_id"'),
      nginx: countLines(targets.nginx.child.accessLog, '\n'),
    };
    results[name] = {
      ...scenario,
      lua: scenario.lua === undefined ? undefined : true,
      connections: Number(opts.connections ?? scenario.c),
      seconds: runS,
      startMs,
      fairness,
      accessLogLines,
      vmHwmAtEndMb: hwmMb,
      runs: Object.fromEntries(
        Object.entries(runs).map(([k, list]) => [k, list.map(({ raw: _raw, ...rest }) => rest)]),
      ),
      wrkOutput: Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, list.map((x) => x.raw)])),
    };
    console.log('done');
  }
} finally {
  await stop(backend, 'SIGQUIT');
}

// --- the table --------------------------------------------------------------------------------------

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function summarise(list) {
  const rps = list.map((x) => x.rps);
  const m = median(rps);
  return {
    rps: m,
    spreadPct: list.length > 1 ? (100 * (Math.max(...rps) - Math.min(...rps))) / m : 0,
    p50ms: median(list.map((x) => x.p50ms)),
    p99ms: median(list.map((x) => x.p99ms)),
    rssPeakMb: Math.max(...list.map((x) => x.rssPeakMb)),
    cpuUsPerReq: median(list.map((x) => x.cpuUsPerReq)),
    corePct: median(list.map((x) => x.corePct)),
    errors: list.reduce((a, x) => a + x.errorCount, 0),
    requests: list.reduce((a, x) => a + x.requests, 0),
    swapsApplied: list[0]?.swapsApplied === undefined ? undefined : list.map((x) => x.swapsApplied),
  };
}

const rows = [];
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const ratio = (a, b) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '-');
const header = [
  'scenario',
  'c',
  'target',
  'req/s',
  '±%',
  'p50 ms',
  'p99 ms',
  'RSS MB',
  'CPU µs/req',
  'core %',
  'errors',
  'notes',
];
for (const [name, r] of Object.entries(results)) {
  const g = summarise(r.runs.gateway);
  const n = summarise(r.runs.nginx);
  const one = r.runs.gatewayOne === undefined ? undefined : summarise(r.runs.gatewayOne);
  r.summary = { gateway: g, nginx: n, ...(one === undefined ? {} : { gatewayOne: one }) };
  const notes = (s, who) => {
    const parts = [];
    if (s.swapsApplied)
      parts.push(
        `${who === 'gateway' ? 'swaps' : 'reloads'} applied ${s.swapsApplied.join('/')} of ${swaps}`,
      );
    if (r.fairness.problems.length > 0 && who === 'gateway') parts.push('HEADERS DIFFER');
    return parts.join('; ');
  };
  const shown = [
    ['nginx', n],
    ['gateway', g],
  ];
  if (one !== undefined) shown.push(['gateway, 1 Ingress', one]);
  for (const [who, s] of shown) {
    rows.push([
      who === 'nginx' ? name : '',
      who === 'nginx' ? String(r.connections) : '',
      who,
      fmt(s.rps),
      fmt(s.spreadPct),
      fmt(s.p50ms, 2),
      fmt(s.p99ms, 2),
      fmt(s.rssPeakMb, 1),
      fmt(s.cpuUsPerReq, 1),
      fmt(s.corePct),
      String(s.errors),
      notes(s, who),
    ]);
  }
  r.ratios = {
    rps: g.rps / n.rps,
    p50: g.p50ms / n.p50ms,
    p99: g.p99ms / n.p99ms,
    rss: g.rssPeakMb / n.rssPeakMb,
    cpuPerReq: g.cpuUsPerReq / n.cpuUsPerReq,
  };
  rows.push(ratioRow('gateway/nginx', g, n, ''));
  if (one !== undefined) {
    r.ratiosVsOneIngress = {
      rps: g.rps / one.rps,
      cpuPerReq: g.cpuUsPerReq / one.cpuUsPerReq,
      rss: g.rssPeakMb / one.rssPeakMb,
    };
    rows.push(ratioRow('gw 10k / gw 1', g, one, 'the same gateway build, 1 Ingress, interleaved'));
  }
}
/** A table row of a/b for each measured column. */
function ratioRow(label, a, b, note) {
  return [
    '',
    '',
    label,
    ratio(a.rps, b.rps),
    '',
    ratio(a.p50ms, b.p50ms),
    ratio(a.p99ms, b.p99ms),
    ratio(a.rssPeakMb, b.rssPeakMb),
    ratio(a.cpuUsPerReq, b.cpuUsPerReq),
    '',
    '',
    note,
  ];
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) =>
  cells
    .map((c, i) => (i < 3 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
    .join('  ')
    .trimEnd();
console.log(
  `\nmedians over ${rounds} round(s) of ${duration} s (config-swaps: ${swaps} swaps every ${swapIntervalMs} ms); ` +
    'RSS: peak sampled VmRSS of the serving process(es) (nginx: its workers); CPU: utime+stime of the ' +
    'proxy (nginx: master + workers) / requests; core %: that CPU over wall time (near 100: the proxy is the bottleneck)',
);
console.log(line(header));
for (const row of rows) console.log(line(row));
env.loadavgEnd = loadavg();
console.log(`load average at the end ${env.loadavgEnd.map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, r] of Object.entries(results)) {
  if (r.fairness.problems.length > 0)
    console.log(`${name}: forwarded headers differ: ${r.fairness.problems.join('; ')}`);
  // Both must have logged (about) every request they served: an access log that is off is no anchor.
  for (const t of ['gateway', 'nginx']) {
    const served = r.runs[t].reduce((a, x) => a + x.requests, 0);
    if (r.accessLogLines[t] < served * 0.9) {
      console.log(
        `${name}: ${t}'s access log has ${r.accessLogLines[t]} lines for ${served} measured requests`,
      );
    }
  }
}

const date = new Date().toISOString();
const out = opts.json ?? join(here, 'results', `yardstick-${date.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${asFormatted({ date, versions, env, options: { rounds, duration, warmup, swaps, swapIntervalMs, nodeArgs, quick }, scenarios: results })}\n`,
);
console.log(`results: ${out}`);
if (opts['keep-dir']) console.log(`configs and logs: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
clearTimeout(watchdog);
process.exit(0);
