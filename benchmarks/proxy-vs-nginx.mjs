// Proxy throughput per core, side by side in one run: the gateway vs nginx configured like
// ingress-nginx (upstream keep-alive, X-Forwarded headers, access log), both in front of the same
// backend (a separate nginx process answering a small static body). Needs Debian's wrk and nginx:
//   apt-get install -y wrk nginx-light
// Usage: node benchmarks/proxy-vs-nginx.mjs [--duration 10] [--connections 64]
// Only loopback addresses are used; every run is bounded by --duration.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '64' } },
});
const duration = Number(values.duration);
const connections = Number(values.connections);

for (const tool of ['wrk', 'nginx']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
  } catch {
    console.error(`benchmark needs ${tool}: apt-get install -y wrk nginx-light`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
const BACKEND = { ip: '127.0.20.1', port: 18181 };
const NGINX_PROXY = 18182;
const GATEWAY = 18183;

// The backend is a separate nginx process, so the proxy under test has its worker to itself.
writeFileSync(
  join(dir, 'backend.conf'),
  `worker_processes 1;
pid ${dir}/backend.pid;
error_log ${dir}/backend-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/bbody; proxy_temp_path ${dir}/bproxy;
  fastcgi_temp_path ${dir}/bfcgi; uwsgi_temp_path ${dir}/buwsgi; scgi_temp_path ${dir}/bscgi;
  server {
    listen ${BACKEND.ip}:${BACKEND.port};
    location / { return 200 "hello from the backend\\n"; }
  }
}
`,
);
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream backend { server ${BACKEND.ip}:${BACKEND.port}; keepalive 320; }
  log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $request_id';
  server {
    listen 127.0.0.1:${NGINX_PROXY};
    set $proxy_upstream_name "bench-app-80";
    access_log ${dir}/nginx-access.log upstreaminfo buffer=64k;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_pass http://backend;
    }
  }
}
`,
);
writeFileSync(
  join(dir, 'config.yaml'),
  `apiVersion: v1
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
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: bench}
spec:
  rules:
    - host: bench.example.test
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}
`,
);

const backend = spawn('nginx', ['-p', dir, '-c', join(dir, 'backend.conf'), '-g', 'daemon off;'], {
  stdio: 'inherit',
});
const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
  stdio: 'inherit',
});
const gateway = spawn(
  process.execPath,
  [
    join(root, 'apps/gateway/dist/cli.js'),
    '--config',
    join(dir, 'config.yaml'),
    '--bind-address',
    '127.0.0.1',
    '--http-port',
    String(GATEWAY),
    '--https-port',
    '0',
    '--metrics-port',
    '0',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
// Whatever happens, no server outlives the benchmark.
process.on('exit', () => {
  gateway.kill('SIGKILL');
  nginx.kill('SIGKILL');
  backend.kill('SIGKILL');
});
// The access log is on, as in production; its lines go to a pipe we drain.
let listening;
const ready = new Promise((resolve) => (listening = resolve));
gateway.stdout.on('data', (d) => {
  if (String(d).includes('gateway listening')) listening();
});
await ready;
await waitFor(NGINX_PROXY);

function waitFor(port) {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', () => {
        if (Date.now() > deadline) reject(new Error(`port ${port} not open`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function wrk(port) {
  const out = execFileSync(
    'wrk',
    [
      '-t1',
      `-c${connections}`,
      `-d${duration}s`,
      '-H',
      'Host: bench.example.test',
      `http://127.0.0.1:${port}/`,
    ],
    { encoding: 'utf8' },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = /Latency\s+(\S+)/.exec(out)?.[1];
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? 'none';
  return { rps, latency, errors };
}

try {
  // Warm up both (JIT, pools), then measure side by side, alternating.
  wrk(NGINX_PROXY);
  wrk(GATEWAY);
  const results = { nginx: [], gateway: [] };
  for (let round = 0; round < 2; round++) {
    results.nginx.push(wrk(NGINX_PROXY));
    results.gateway.push(wrk(GATEWAY));
  }
  const best = (list) => list.reduce((a, b) => (b.rps > a.rps ? b : a));
  const n = best(results.nginx);
  const g = best(results.gateway);
  console.log(
    `proxy throughput, wrk -t1 -c${connections} -d${duration}s, one nginx worker vs one gateway process:`,
  );
  console.log(`  nginx   ${n.rps.toFixed(0)} req/s  latency avg ${n.latency}  errors ${n.errors}`);
  console.log(`  gateway ${g.rps.toFixed(0)} req/s  latency avg ${g.latency}  errors ${g.errors}`);
  console.log(`  ratio gateway/nginx: ${(g.rps / n.rps).toFixed(2)}`);
} finally {
  gateway.kill('SIGTERM');
  nginx.kill('SIGQUIT');
  backend.kill('SIGQUIT');
  await Promise.all([once(gateway, 'exit'), once(nginx, 'exit'), once(backend, 'exit')]);
}
