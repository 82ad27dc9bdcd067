// Starts the seed example: demo backends on the endpoint addresses of seed.yaml, then the built gateway
// serving seed.yaml (HTTP 8080, HTTPS 8443, metrics 10254). Extra arguments go to the gateway.
// Run through `bash scripts/demo.sh`, which installs and builds first.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pods = [
  ...[1, 2, 3].map((n) => ({ app: 'nginx', ip: `127.0.1.${n}` })),
  ...[1, 2, 3].map((n) => ({ app: 'tomcat', ip: `127.0.2.${n}` })),
];

function startPod({ app, ip }) {
  const server = http.createServer((req, res) => {
    const body =
      `${app} pod ${ip}: ${req.method} ${req.url} (host ${req.headers.host}, ` +
      `x-forwarded-for ${req.headers['x-forwarded-for']}, x-request-id ${req.headers['x-request-id']})\n`;
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(18080, ip, () => resolve(server));
  });
}

const servers = await Promise.all(pods.map(startPod));
console.error(`demo: ${servers.length} backend pods listening on 127.0.1.1-3 and 127.0.2.1-3, port 18080`);

const gateway = spawn(
  process.execPath,
  [
    join(root, 'apps/gateway/dist/cli.js'),
    '--config',
    join(root, 'examples/seed.yaml'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => gateway.kill('SIGTERM'));
gateway.on('exit', (code) => {
  for (const s of servers) s.close();
  process.exit(code ?? 0);
});
