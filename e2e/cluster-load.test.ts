// Black-box: 30 s of keep-alive load through the gateway in cluster mode while every kind of object
// changes underneath it (endpoints move, Ingresses come and go, Services and Secrets change): zero
// failed requests, and an open WebSocket is never cut.
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type Cluster, startCluster, startClusterGateway } from './support/cluster.js';
import type { GatewayProcess } from './support/gateway-process.js';
import { ingress, service, slice } from './support/manifests.js';
import { echo, openSocket } from './support/ws-client.js';

type Pods = Awaited<ReturnType<typeof startPods>>;
let blue: Pods;
let green: Pods;
let cluster: Cluster;
let gw: GatewayProcess;

beforeAll(async () => {
  blue = await startPods('blue', ['127.0.14.1', '127.0.14.2']);
  green = await startPods('green', ['127.0.15.1', '127.0.15.2']);
  cluster = await startCluster([
    service('app', 'web'),
    slice('app', 'web', blue.port, ['127.0.14.1', '127.0.14.2']),
    ingress('app', 'web', [{ host: 'web.test', service: 'web' }]),
  ]);
  gw = await startClusterGateway(cluster, ['--no-access-log']);
  await gw.waitForLog((l) => l.msg === 'synced: ready');
});

afterAll(async () => {
  await gw?.stop();
  await cluster?.stop();
  await blue?.close();
  await green?.close();
});

function get(agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: gw.http, agent, headers: { host: 'web.test' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

it('30 s of keep-alive load while objects change: zero failed requests', { timeout: 90_000 }, async () => {
  const ws = await openSocket(gw.http, 'web.test');
  const firstEcho = await echo(ws, 'before');

  const failures: string[] = [];
  let completed = 0;
  const deadline = Date.now() + 30_000;
  const clients = Array.from({ length: 8 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
      try {
        const r = await get(agent);
        if (r.status !== 200) failures.push(`status ${r.status}: ${r.body}`);
        completed++;
      } catch (err) {
        failures.push(String(err));
      }
    }
    agent.destroy();
  });

  // Changes: each round moves the endpoints to the other pods (never through an empty slice), churns an unrelated Ingress, Service and Secret, and rewrites the main Ingress.
  let rounds = 0;
  const changes = (async () => {
    while (Date.now() < deadline - 1000) {
      const to = rounds % 2 === 0 ? green : blue;
      cluster.api.apply(slice('app', 'web', to.port, [...to.pods.map((p) => p.ip)]));
      cluster.api.apply(ingress('app', `other-${rounds}`, [{ host: `o${rounds}.test`, service: 'web' }]));
      if (rounds > 0) cluster.api.remove('ingresses.networking.k8s.io', 'app', `other-${rounds - 1}`);
      cluster.api.apply(service('app', `unrelated-${rounds % 3}`));
      cluster.api.apply(
        ingress('app', 'web', [{ host: 'web.test', service: 'web' }], {
          tls: [{ hosts: [`t${rounds}.test`] }],
        }),
      );
      rounds++;
      if (rounds % 10 === 0) cluster.api.dropWatches();
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  await Promise.all([...clients, changes]);
  expect(failures).toEqual([]);
  expect(rounds).toBeGreaterThan(20);
  expect(completed).toBeGreaterThan(rounds);
  // The WebSocket opened before any change still talks to the same pod.
  expect(await echo(ws, 'after')).toBe(firstEcho.replace('before', 'after'));
  ws.close();
});
