// Black-box: a gateway serving alone listens with 32 sockets per port (SO_REUSEPORT), so under load it
// accepts 32 connections per turn of its event loop instead of one; read from /proc, not asked. It
// still refuses a port another process holds, as one socket would. With workers, each worker binds the
// same way with --reuse-port, in one group with its siblings (else the primary has the one socket).
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, runCli, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';
import { listeningSocketsOf } from './support/proc-sockets.js';

type Pods = Awaited<ReturnType<typeof startPods>>;
let pods: Pods;
let file: string;

beforeAll(async () => {
  pods = await startPods('web', ['127.0.61.1']);
  ({ file } = await tempConfig([
    service('l', 'web'),
    slice(
      'l',
      'web',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    ingress('l', 'web', [{ host: 'web.l.test', service: 'web' }]),
  ]));
});

afterAll(async () => {
  await pods?.close();
});

/** 64 requests at once, every one answered 200. */
async function expectServes64(gw: GatewayProcess): Promise<void> {
  const replies = await Promise.all(
    Array.from({ length: 64 }, () => request(gw.http, { host: 'web.l.test' })),
  );
  expect(replies.map((r) => r.status)).toEqual(Array(64).fill(200));
}

/** A second gateway (`workers` of them, with `extra` flags) on `gw`'s HTTP port exits 1 with EADDRINUSE. */
async function expectSecondGatewayRefused(
  gw: GatewayProcess,
  workers: number,
  extra: string[] = [],
): Promise<void> {
  const r = await runCli([
    ...['--config', file, '--workers', String(workers), '--bind-address', '127.0.0.1', ...extra],
    ...['--http-port', String(gw.http), '--https-port', '0', '--metrics-port', '0'],
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/EADDRINUSE/);
}

describe('a gateway serving alone (--workers 1)', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGateway(['--config', file, '--no-access-log', '--workers', '1']);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('listens with 32 sockets on its HTTP port and 32 on its HTTPS port, and serves', async () => {
    const pid = gw.child.pid!;
    expect(listeningSocketsOf(pid, '127.0.0.1', gw.http)).toBe(32);
    expect(listeningSocketsOf(pid, '127.0.0.1', gw.https)).toBe(32);
    await expectServes64(gw);
  });

  it('a second gateway on its port exits 1 with EADDRINUSE, though the port allows SO_REUSEPORT', async () => {
    await expectSecondGatewayRefused(gw, 1);
    const still = await request(gw.http, { host: 'web.l.test' });
    expect(still.status).toBe(200);
  });
});

/** Pids of the workers of a gateway, from its log. */
function workerPids(gw: GatewayProcess): number[] {
  return gw.logs.filter((l) => l.msg === 'worker started').map((l) => l.pid as number);
}

describe('a gateway with two workers and --reuse-port', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGateway(['--config', file, '--no-access-log', '--workers', '2', '--reuse-port']);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('listens with 32 sockets per port in each worker (one SO_REUSEPORT group), none in the primary', async () => {
    const pids = workerPids(gw);
    expect(pids).toHaveLength(2);
    expect(listeningSocketsOf(gw.child.pid!, '127.0.0.1', gw.http)).toBe(0);
    expect(listeningSocketsOf(gw.child.pid!, '127.0.0.1', gw.https)).toBe(0);
    for (const pid of pids) {
      expect(listeningSocketsOf(pid, '127.0.0.1', gw.http)).toBe(32);
      expect(listeningSocketsOf(pid, '127.0.0.1', gw.https)).toBe(32);
    }
    await expectServes64(gw);
  });

  it('a second gateway with workers on its port exits 1 with EADDRINUSE, and the first serves on', async () => {
    await expectSecondGatewayRefused(gw, 2, ['--reuse-port']);
    expect((await request(gw.http, { host: 'web.l.test' })).status).toBe(200);
  });
});

/** A port free now (bound on 0 and released). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a gateway with two workers and --reuse-port on fixed ports', () => {
  it('probes each port, then every worker binds it: both serve on the ports given', async () => {
    const [http, https] = [await freePort(), await freePort()];
    const gw = await startGateway([
      ...['--config', file, '--no-access-log', '--workers', '2', '--reuse-port'],
      ...['--http-port', String(http), '--https-port', String(https)],
    ]);
    try {
      expect([gw.http, gw.https]).toEqual([http, https]);
      for (const pid of workerPids(gw)) {
        expect(listeningSocketsOf(pid, '127.0.0.1', http)).toBe(32);
        expect(listeningSocketsOf(pid, '127.0.0.1', https)).toBe(32);
      }
      expect((await request(http, { host: 'web.l.test' })).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('a gateway with two workers', () => {
  it('listens with one socket per port in the primary, which hands connections to the workers', async () => {
    const gw = await startGateway(['--config', file, '--no-access-log', '--workers', '2']);
    try {
      expect(listeningSocketsOf(gw.child.pid!, '127.0.0.1', gw.http)).toBe(1);
      for (const pid of workerPids(gw)) expect(listeningSocketsOf(pid, '127.0.0.1', gw.http)).toBe(0);
      const reply = await request(gw.http, { host: 'web.l.test' });
      expect(reply.status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('a port held by another program', () => {
  it('makes a gateway serving alone exit 1 with EADDRINUSE', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const r = await runCli([
        ...['--config', file, '--workers', '1', '--bind-address', '127.0.0.1'],
        ...['--http-port', String(port), '--https-port', '0', '--metrics-port', '0'],
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
