// Black-box: configuration swaps under concurrent keep-alive load drop nothing; an open WebSocket and a
// long download survive every swap (ingress-nginx drops both on each reload).
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { ingress, replaceConfig, service, slice, tempConfig, toYaml } from './support/manifests.js';
import { echo, openSocket } from './support/ws-client.js';

let gw: GatewayProcess;
let blue: Awaited<ReturnType<typeof startPods>>;
let green: Awaited<ReturnType<typeof startPods>>;
let file: string;

function objects(color: 'blue' | 'green', generation: number): object[] {
  const pods = color === 'blue' ? blue : green;
  return [
    {
      ...(service('app', 'web') as object),
      metadata: { name: 'web', namespace: 'app', labels: { generation: String(generation) } },
    },
    slice(
      'app',
      'web',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    ingress('app', 'web', [{ host: 'web.example.test', service: 'web' }]),
  ];
}

beforeAll(async () => {
  blue = await startPods('blue', ['127.0.7.1', '127.0.7.2']);
  green = await startPods('green', ['127.0.8.1', '127.0.8.2']);
  ({ file } = await tempConfig(objects('blue', 0)));
  gw = await startGateway(['--config', file, '--no-access-log']);
});

afterAll(async () => {
  await gw?.stop();
  await blue?.close();
  await green?.close();
});

function get(agent: http.Agent, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent, headers: { host: 'web.example.test' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

it('swaps configurations under keep-alive load with zero failed requests', { timeout: 60_000 }, async () => {
  const ws = await openSocket(gw.http, 'web.example.test');
  const firstEcho = await echo(ws, 'before');
  expect(firstEcho).toMatch(/^blue-\d:before$/);

  const downloadAgent = new http.Agent({ keepAlive: true });
  const download = get(downloadAgent, gw.http, '/stream?chunks=60&intervalMs=40');

  let stop = false;
  const failures: string[] = [];
  let completed = 0;
  const deadline = Date.now() + 30_000;
  const clients = Array.from({ length: 8 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5000 && !stop && Date.now() < deadline; i++) {
      try {
        const r = await get(agent, gw.http);
        if (r.status !== 200) failures.push(`status ${r.status}: ${r.body}`);
        completed++;
      } catch (err) {
        failures.push(String(err));
      }
    }
    agent.destroy();
  });

  const swaps = 10;
  for (let g = 1; g <= swaps; g++) {
    const applied = gw.logs.filter((l) => l.msg === 'configuration applied').length;
    await replaceConfig(file, toYaml(objects(g % 2 === 1 ? 'green' : 'blue', g)));
    await gw.waitForLog(
      (l) =>
        l.msg === 'configuration applied' &&
        gw.logs.filter((x) => x.msg === 'configuration applied').length > applied,
    );
  }
  stop = true;
  await Promise.all(clients);

  expect(failures).toEqual([]);
  expect(completed).toBeGreaterThan(swaps);
  // The last swap (10, even) routes to blue again; the one before to green: new requests follow it.
  const r = await get(new http.Agent(), gw.http);
  expect(JSON.parse(r.body).pod).toMatch(/^blue-/);

  // The WebSocket opened before the swaps still talks to the same pod.
  expect(await echo(ws, 'after')).toBe(firstEcho.replace('before', 'after'));
  ws.close();
  const body = await download;
  expect(body.status).toBe(200);
  expect(body.body.length).toBe(60 * 1024);
  downloadAgent.destroy();
});

// The contract is 1 s; the bound here leaves room for a loaded CI machine.
it('picks up a rename over the file within a second', async () => {
  const applied = gw.logs.filter((l) => l.msg === 'configuration applied').length;
  await replaceConfig(file, toYaml(objects('green', 100)));
  await gw.waitForLog(
    (l) =>
      l.msg === 'configuration applied' &&
      gw.logs.filter((x) => x.msg === 'configuration applied').length > applied,
    2000,
  );
  const r = await get(new http.Agent(), gw.http);
  expect(JSON.parse(r.body).pod).toMatch(/^green-/);
});
