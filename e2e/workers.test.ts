// Black-box: `--workers 2`: two data-plane processes share the ports (through the primary's round robin;
// with --reuse-port each with its own SO_REUSEPORT sockets) and serve what the primary sends them. Which worker accepted a connection is read from /proc (the gateway is not asked): every swap is in
// effect in both once it is logged, metrics add up over both, ClientIP affinity holds across them, a
// killed worker is replaced without failing a request of the other, SIGTERM drains both, and access-log
// lines of both never interleave on stdout, however long.
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type Cluster, eventually, startCluster, startClusterGateway } from './support/cluster.js';
import { type GatewayProcess, type LogLine, runCli, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, replaceConfig, service, slice, tempConfig, toYaml } from './support/manifests.js';
import { pidOfConnection } from './support/proc-sockets.js';

type Pods = Awaited<ReturnType<typeof startPods>>;
let blue: Pods;
let green: Pods;
let sticky: Pods;

beforeAll(async () => {
  blue = await startPods('blue', ['127.0.60.1', '127.0.60.2']);
  green = await startPods('green', ['127.0.60.3', '127.0.60.4']);
  sticky = await startPods('sticky', ['127.0.60.5', '127.0.60.6', '127.0.60.7']);
});

afterAll(async () => {
  await blue?.close();
  await green?.close();
  await sticky?.close();
});

function objects(web: Pods): object[] {
  return [
    service('w', 'web'),
    slice(
      'w',
      'web',
      web.port,
      web.pods.map((p) => p.ip),
    ),
    ingress('w', 'web', [{ host: 'web.w.test', service: 'web' }]),
    {
      ...(service('w', 'sticky') as { spec: object }),
      metadata: { name: 'sticky', namespace: 'w' },
      spec: { ...(service('w', 'sticky') as { spec: object }).spec, sessionAffinity: 'ClientIP' },
    },
    slice(
      'w',
      'sticky',
      sticky.port,
      sticky.pods.map((p) => p.ip),
    ),
    ingress('w', 'sticky', [{ host: 'sticky.w.test', service: 'sticky' }]),
  ];
}

/** Pids of the workers alive now, from the primary's log. */
function workerPids(gw: GatewayProcess): number[] {
  const started = gw.logs.filter((l) => l.msg === 'worker started').map((l) => l.pid as number);
  const exited = new Set(
    gw.logs.filter((l) => l.msg?.startsWith('worker exited')).map((l) => l.pid as number),
  );
  return started.filter((p) => !exited.has(p));
}

function count(gw: GatewayProcess, msg: string): number {
  return gw.logs.filter((l) => l.msg === msg).length;
}

interface Served {
  status: number;
  pod: string | undefined;
  /** The worker that accepted the connection. */
  pid: number | undefined;
}

/**
 * One request on a fresh connection (from `client`), which stays open until the worker holding its
 * server side is found, then closes.
 */
function served(gw: GatewayProcess, host: string, client = '127.0.0.1', path = '/'): Promise<Served> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<Served>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: gw.http, path, agent, localAddress: client, headers: { host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          const pid = pidOfConnection(
            workerPids(gw),
            { ip: '127.0.0.1', port: gw.http },
            { ip: client, port: req.socket!.localPort! },
          );
          const pod = res.statusCode === 200 ? (JSON.parse(body) as { pod: string }).pod : undefined;
          resolve({ status: res.statusCode!, pod, pid });
        });
      },
    );
    req.on('error', reject);
  }).finally(() => agent.destroy());
}

interface TlsServed {
  reused: boolean;
  session: Buffer | undefined;
  reply: string;
  /** The worker that accepted the connection. */
  pid: number | undefined;
}

/** One HTTPS request on a fresh connection, resuming `session` when given; closed once answered. */
function tlsServed(gw: GatewayProcess, session?: Buffer): Promise<TlsServed> {
  return new Promise((resolve, reject) => {
    let given: Buffer | undefined;
    let reply = '';
    let reused = false;
    let pid: number | undefined;
    const socket = tls.connect(
      { host: '127.0.0.1', port: gw.https, servername: 'web.w.test', rejectUnauthorized: false, session },
      () => {
        reused = socket.isSessionReused();
        pid = pidOfConnection(
          workerPids(gw),
          { ip: '127.0.0.1', port: gw.https },
          { ip: '127.0.0.1', port: socket.localPort! },
        );
        socket.write('GET / HTTP/1.1\r\nhost: web.w.test\r\nconnection: close\r\n\r\n');
      },
    );
    socket.setEncoding('utf8');
    socket.on('session', (s: Buffer) => (given = s));
    socket.on('data', (chunk) => (reply += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reused, session: given, reply, pid }));
  });
}

async function servedMany(gw: GatewayProcess, n: number, host: string, client?: string): Promise<Served[]> {
  const out: Served[] = [];
  for (let i = 0; i < n; i++) out.push(await served(gw, host, client));
  return out;
}

/**
 * The next configuration file, changed for worker `a` only: `a` is stopped until the file is there, then
 * reads what `change` made of it.
 */
async function changeFileFor(dir: string, a: number, change: (path: string) => void): Promise<void> {
  process.kill(a, 'SIGSTOP');
  try {
    const { value: name } = await eventually(async () => readdirSync(dir)[0], 'a configuration file');
    const path = `${dir}/${name}`;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Only once the other worker has read it (its read moves the access time past the write's: /dev/shm
    // is mounted relatime here), or it would read the change too.
    await eventually(async () => {
      const times = statSync(path, { bigint: true });
      return times.atimeNs > times.mtimeNs;
    }, 'the other worker reading the configuration file');
    change(path);
  } finally {
    process.kill(a, 'SIGCONT');
  }
}

const corrupt = (path: string): void => {
  const bytes = readFileSync(path);
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(path, bytes);
};

function metricValue(body: string, line: string): number | undefined {
  const found = body.split('\n').filter((l) => l.startsWith(`${line} `));
  if (found.length > 1) throw new Error(`${line} reported ${found.length} times`);
  return found.length === 0 ? undefined : Number(found[0]!.slice(line.length + 1));
}

/**
 * Requests on fresh connections until both workers accepted one (each connection lands on a worker by
 * the kernel's hash of its addresses: 40 on one worker alone are 2^-39 likely).
 */
async function servedByBoth(gw: GatewayProcess, host: string, client?: string): Promise<Served[]> {
  const out: Served[] = [];
  while (out.length < 40 && new Set(out.map((a) => a.pid)).size < 2) out.push(await served(gw, host, client));
  return out;
}

describe('two workers on their own SO_REUSEPORT sockets (--reuse-port)', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    const { file } = await tempConfig(objects(blue));
    gw = await startGateway(['--config', file, '--workers', '2', '--reuse-port']);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('is ready once both workers serve; fresh connections reach both, each with the configuration', async () => {
    expect(gw.logs.find((l) => l.msg === 'gateway listening')?.workers).toBe(2);
    expect((await request(gw.metrics, { path: '/readyz' })).status).toBe(200);
    const answers = await servedByBoth(gw, 'web.w.test');
    expect(new Set(answers.map((a) => a.pid))).toEqual(new Set(workerPids(gw)));
    expect(new Set(answers.map((a) => `${a.status} ${a.pod?.split('-')[0]}`))).toEqual(new Set(['200 blue']));
  });

  it('spreads fresh connections over the pods: each worker goes round robin (as nginx workers do)', async () => {
    const answers = await servedMany(gw, 24, 'web.w.test');
    const counts = blue.pods.map((p) => answers.filter((a) => a.pod === p.name).length);
    expect(counts[0]! + counts[1]!).toBe(24);
    // Each worker alternates the two pods whichever connections it gets: at most one ahead per worker.
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(2);
  });

  it('resumes a TLS session on either worker', async () => {
    const first = await tlsServed(gw);
    expect(first.session).toBeDefined();
    const next: TlsServed[] = [];
    while (next.length < 40 && new Set(next.map((n) => n.pid)).size < 2) {
      next.push(await tlsServed(gw, first.session));
    }
    expect(new Set(next.map((n) => n.pid))).toEqual(new Set(workerPids(gw)));
    expect(next.every((n) => n.reused && n.reply.startsWith('HTTP/1.1 200 '))).toBe(true);
  });

  it('pins a client IP to one pod across workers (ClientIP affinity on fresh connections)', async () => {
    const firstPods = new Set<string>();
    for (const client of ['127.0.62.1', '127.0.62.2', '127.0.62.3', '127.0.62.4', '127.0.62.5']) {
      const answers = await servedByBoth(gw, 'sticky.w.test', client);
      expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
      const pods = new Set(answers.map((a) => `${a.status} ${a.pod}`));
      expect(pods.size, `${client}: ${answers.map((a) => `${a.pod}@${a.pid}`).join(', ')}`).toBe(1);
      firstPods.add(answers[0]!.pod!);
    }
    expect(firstPods.size).toBeGreaterThan(1);
  });
});

describe('two workers, one configuration', () => {
  let gw: GatewayProcess;
  let file: string;

  beforeAll(async () => {
    ({ file } = await tempConfig(objects(blue)));
    gw = await startGateway(['--config', file, '--workers', '2']);
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('is ready once both workers serve; fresh connections reach both, each with the configuration', async () => {
    expect(gw.logs.find((l) => l.msg === 'gateway listening')?.workers).toBe(2);
    expect(workerPids(gw)).toHaveLength(2);
    expect((await request(gw.metrics, { path: '/readyz' })).status).toBe(200);
    const answers = await servedMany(gw, 8, 'web.w.test');
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.pod?.split('-')[0]))).toEqual(new Set(['blue']));
    expect(new Set(answers.map((a) => a.pid))).toEqual(new Set(workerPids(gw)));
  });

  it('forks workers that scavenge on their own thread, whatever flags the primary was started with', () => {
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv(gw.child.pid!)).not.toContain('--no-parallel-scavenge');
    expect(workerPids(gw)).toHaveLength(2);
    for (const pid of workerPids(gw)) expect(argv(pid)).toContain('--no-parallel-scavenge');
  });

  it('balances fresh connections round robin over the pods, as one process does', async () => {
    const answers = await servedMany(gw, 6, 'web.w.test');
    const pods = answers.map((a) => a.pod);
    // The workers take turns, and so do their pickers: the pods alternate.
    expect(pods[0]).not.toBe(pods[1]);
    expect(pods.filter((p) => p === pods[0])).toHaveLength(3);
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
  });

  it("resumes a TLS session on either worker: they share the primary's session-ticket keys", async () => {
    const first = await tlsServed(gw);
    expect(first.session).toBeDefined();
    const next: TlsServed[] = [];
    // 1 + 7 requests: an even number, so both workers' pickers stay in step for the tests after.
    for (let i = 0; i < 7; i++) next.push(await tlsServed(gw, first.session));
    expect(next.map((n) => n.reused)).toEqual(Array(7).fill(true));
    expect(next.every((n) => n.reply.startsWith('HTTP/1.1 200 '))).toBe(true);
    expect(new Set(next.map((n) => n.pid))).toEqual(new Set(workerPids(gw)));
  });

  it('a swap serves in every worker once it is logged; a bad file replaces nothing', async () => {
    const applied = count(gw, 'configuration applied');
    await replaceConfig(file, toYaml(objects(green)));
    await gw.waitForLog(() => count(gw, 'configuration applied') > applied);
    // No waiting after the log line: both workers already have it.
    const answers = await servedMany(gw, 8, 'web.w.test');
    expect(new Set(answers.map((a) => a.pod?.split('-')[0]))).toEqual(new Set(['green']));
    expect(new Set(answers.map((a) => a.pid))).toEqual(new Set(workerPids(gw)));

    const rejected = count(gw, 'invalid configuration; keeping the last good one');
    await replaceConfig(file, 'kind: Ingress\napiVersion: networking.k8s.io/v1\nspec: [not, a, map]\n');
    await gw.waitForLog(() => count(gw, 'invalid configuration; keeping the last good one') > rejected);
    const after = await servedMany(gw, 6, 'web.w.test');
    expect(new Set(after.map((a) => `${a.status} ${a.pod?.split('-')[0]}`))).toEqual(new Set(['200 green']));
    expect(new Set(after.map((a) => a.pid))).toEqual(new Set(workerPids(gw)));
    await replaceConfig(file, toYaml(objects(green)));
    await gw.waitForLog(() => count(gw, 'configuration applied') > applied + 1);
  });

  it('/metrics sums requests and connections over the workers and reports configuration metrics once', async () => {
    const scrape = async () => (await request(gw.metrics, { path: '/metrics' })).body;
    const line =
      'ingress_gateway_requests_total{namespace="w",ingress="web",service="web",host="web.w.test",path="/",method="GET",status="200"}';
    const before = metricValue(await scrape(), line) ?? 0;
    const answers = await servedMany(gw, 10, 'web.w.test');
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
    await eventually(async () => metricValue(await scrape(), line) === before + 10, 'requests summed');

    const body = await scrape();
    expect(metricValue(body, 'ingress_gateway_config_last_reload_successful')).toBe(1);
    expect(metricValue(body, 'ingress_gateway_upstream_endpoints{namespace="w",service="web"}')).toBe(2);
    expect(metricValue(body, 'ingress_gateway_upstream_endpoints{namespace="w",service="sticky"}')).toBe(3);
    expect(metricValue(body, 'ingress_gateway_config_reloads_total{result="failure"}')).toBe(1);
    expect(body.match(/^# TYPE ingress_gateway_active_connections gauge$/gm)).toHaveLength(1);

    // Two open connections, one on each worker: the sum says 2.
    const agents = [0, 1, 2, 3].map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    try {
      const held = new Map<number, http.Agent>();
      for (const agent of agents) {
        const pid = await new Promise<number | undefined>((resolve, reject) => {
          const req = http.get(
            { host: '127.0.0.1', port: gw.http, agent, headers: { host: 'web.w.test' } },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve(
                  pidOfConnection(
                    workerPids(gw),
                    { ip: '127.0.0.1', port: gw.http },
                    { ip: '127.0.0.1', port: req.socket!.localPort! },
                  ),
                ),
              );
            },
          );
          req.on('error', reject);
        });
        if (pid !== undefined && !held.has(pid)) held.set(pid, agent);
        else agent.destroy();
      }
      expect(held.size).toBe(2);
      await eventually(
        async () => metricValue(await scrape(), 'ingress_gateway_active_connections{scheme="http"}') === 2,
        'two connections',
      );
    } finally {
      for (const a of agents) a.destroy();
    }
  });

  it('pins a client IP to one pod across workers (ClientIP affinity on fresh connections)', async () => {
    const clients = ['127.0.61.1', '127.0.61.2', '127.0.61.3', '127.0.61.4', '127.0.61.5', '127.0.61.6'];
    const firstPods = new Set<string>();
    for (const client of clients) {
      const answers = await servedMany(gw, 6, 'sticky.w.test', client);
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
      const pods = new Set(answers.map((a) => a.pod));
      expect(pods.size, `${client}: ${answers.map((a) => `${a.pod}@${a.pid}`).join(', ')}`).toBe(1);
      // Its connections were accepted by both workers.
      expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
      firstPods.add(answers[0]!.pod!);
    }
    // Clients are spread over the pods, not all on one.
    expect(firstPods.size).toBeGreaterThan(1);
  });

  it('writes whole access-log lines from both workers, 5 and 12 KB long ones included', async () => {
    const lengths = [10, 200, 5000, 12_000];
    const n = 120;
    const agents = Array.from({ length: 12 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    try {
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request(gw.http, {
            host: 'web.w.test',
            path: `/${'x'.repeat(lengths[i % lengths.length]!)}`,
            headers: { 'x-request-id': `al-${i}` },
            agent: agents[i % agents.length]!,
          }),
        ),
      );
      const ids = (l: LogLine) => typeof l.req_id === 'string' && l.req_id.startsWith('al-');
      await gw.waitForLog(() => gw.logs.filter(ids).length >= n);
      expect(gw.logs.filter((l) => l.unparsed === true)).toEqual([]);
      const lines = gw.logs.filter(ids);
      expect(new Set(lines.map((l) => l.req_id)).size).toBe(n);
      for (const l of lines) {
        const i = Number((l.req_id as string).slice(3));
        expect(l.path).toBe(`/${'x'.repeat(lengths[i % lengths.length]!)}`);
      }
    } finally {
      for (const a of agents) a.destroy();
    }
  });
});

describe('configurations handed to the workers in files', () => {
  const HANDOVER = 'workers: configuration files in a private directory';
  const KEPT = 'worker: configuration not applied; it serves the last one';
  const pods = (answers: Served[], pid: number) =>
    new Set(answers.filter((a) => a.pid === pid).map((a) => `${a.status} ${a.pod?.split('-')[0]}`));

  it('a worker whose file is changed or gone keeps serving its last configuration; files are removed once read', {
    timeout: 40_000,
  }, async () => {
    const { file } = await tempConfig(objects(blue));
    const gw = await startGateway(['--config', file, '--workers', '2', '--no-access-log']);
    try {
      const dir = (await gw.waitForLog((l) => l.msg === HANDOVER)).dir as string;
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      // Both workers read the first configuration's file before the gateway said it listens.
      expect(readdirSync(dir)).toEqual([]);
      const [a, b] = workerPids(gw) as [number, number];

      const fileOnce = (change: (path: string) => void) => changeFileFor(dir, a, change);
      const kept = count(gw, KEPT);
      const notApplied = count(gw, 'workers: a configuration was not applied');
      await replaceConfig(file, toYaml(objects(green)));
      await fileOnce(corrupt);
      const failed = await gw.waitForLog((l) => l.msg === KEPT && count(gw, KEPT) > kept);
      expect(failed.pid).toBe(a);
      expect(failed.error).toMatch(/digest/);
      await gw.waitForLog(() => count(gw, 'workers: a configuration was not applied') > notApplied);
      // Worker `a` serves blue still, `b` green; the file is gone once both answered.
      expect(readdirSync(dir)).toEqual([]);
      let answers = await servedByBoth(gw, 'web.w.test');
      expect(pods(answers, a)).toEqual(new Set(['200 blue']));
      expect(pods(answers, b)).toEqual(new Set(['200 green']));

      // A file gone before worker `a` reads it: the same.
      await replaceConfig(file, toYaml(objects(sticky)));
      await fileOnce((path) => unlinkSync(path));
      const gone = await gw.waitForLog((l) => l.msg === KEPT && count(gw, KEPT) > kept + 1);
      expect(gone.pid).toBe(a);
      expect(gone.error).toMatch(/ENOENT/);
      answers = await servedByBoth(gw, 'web.w.test');
      expect(pods(answers, a)).toEqual(new Set(['200 blue']));
      expect(pods(answers, b)).toEqual(new Set(['200 sticky']));

      // The next good configuration reaches both.
      const applied = count(gw, 'configuration applied');
      await replaceConfig(file, toYaml(objects(green)));
      await gw.waitForLog(() => count(gw, 'configuration applied') > applied);
      answers = await servedByBoth(gw, 'web.w.test');
      expect(new Set(answers.map((s) => `${s.status} ${s.pod?.split('-')[0]}`))).toEqual(
        new Set(['200 green']),
      );
      expect(new Set(answers.map((s) => s.pid))).toEqual(new Set([a, b]));
      expect(readdirSync(dir)).toEqual([]);

      expect(await gw.stop('SIGTERM')).toBe(0);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await gw.stop('SIGKILL');
    }
  });

  it('a change sent as a delta reaches a worker that kept an older configuration, whole', {
    timeout: 40_000,
  }, async () => {
    // Two files: a change to web.yaml leaves base.yaml's objects (and their rules) as they were, so the
    // workers are sent what changed; a change to base.yaml renews most rules, so they get it whole.
    const dir = await mkdtemp(join(tmpdir(), 'gw-e2e-delta-'));
    const base = (hostPrefix: string) =>
      toYaml([
        ...objects(blue),
        service('w', 'alt'),
        slice(
          'w',
          'alt',
          green.port,
          green.pods.map((p) => p.ip),
        ),
        ...[0, 1, 2, 3].map((i) =>
          ingress('w', `extra-${i}`, [{ host: `${hostPrefix}${i}.w.test`, service: 'web' }]),
        ),
      ]);
    const web = (to: string) => toYaml([ingress('w', 'moved', [{ host: 'moved.w.test', service: to }])]);
    await writeFile(join(dir, 'base.yaml'), base('x'));
    await writeFile(join(dir, 'web.yaml'), web('web'));
    const gw = await startGateway(['--config', dir, '--workers', '2', '--no-access-log']);
    try {
      const files = (await gw.waitForLog((l) => l.msg === HANDOVER)).dir as string;
      const [a, b] = workerPids(gw) as [number, number];
      let answers = await servedMany(gw, 8, 'moved.w.test');
      expect(new Set(answers.map((s) => `${s.status} ${s.pod?.split('-')[0]}`))).toEqual(
        new Set(['200 blue']),
      );

      // base.yaml changes: a whole configuration, which worker `a` cannot read (it keeps the first).
      const kept = count(gw, KEPT);
      await replaceConfig(join(dir, 'base.yaml'), base('y'));
      await changeFileFor(files, a, corrupt);
      await gw.waitForLog((l) => l.msg === KEPT && count(gw, KEPT) > kept && l.pid === a);

      // web.yaml changes: a delta on the configuration `a` does not hold; it is sent the whole one.
      const applied = count(gw, 'configuration applied');
      await replaceConfig(join(dir, 'web.yaml'), web('alt'));
      await gw.waitForLog(() => count(gw, 'configuration applied') > applied);
      // Said once both serve it: `a` too, after the whole configuration it asked for.
      answers = await servedByBoth(gw, 'moved.w.test');
      expect(new Set(answers.map((s) => `${s.status} ${s.pod?.split('-')[0]}`))).toEqual(
        new Set(['200 green']),
      );
      expect(new Set(answers.map((s) => s.pid))).toEqual(new Set([a, b]));
      // And what base.yaml said reaches `a` with it: the y hosts are served, the x hosts are not.
      const hosts = await Promise.all([0, 1, 2, 3].map(() => served(gw, 'y0.w.test')));
      expect(new Set(hosts.map((s) => s.status))).toEqual(new Set([200]));
      expect((await servedMany(gw, 4, 'x0.w.test')).map((s) => s.status)).toEqual([404, 404, 404, 404]);
      expect(count(gw, KEPT)).toBe(kept + 1);
      expect(await gw.stop('SIGTERM')).toBe(0);
    } finally {
      await gw.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a killed primary's directory is removed by the next gateway", { timeout: 30_000 }, async () => {
    const { file } = await tempConfig(objects(blue));
    const first = await startGateway(['--config', file, '--workers', '2', '--no-access-log']);
    const dir = (await first.waitForLog((l) => l.msg === HANDOVER)).dir as string;
    await first.stop('SIGKILL');
    expect(existsSync(dir)).toBe(true);
    const next = await startGateway(['--config', file, '--workers', '2', '--no-access-log']);
    try {
      const own = (await next.waitForLog((l) => l.msg === HANDOVER)).dir as string;
      expect(own).not.toBe(dir);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await next.stop();
    }
  });
});

describe('cluster mode, two workers', () => {
  it('is ready once both serve the listed objects; an EndpointSlice change reaches both as endpoints alone', async () => {
    const cluster: Cluster = await startCluster([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'gateway', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller: 'k8s.io/ingress-gateway' },
      },
      service('w', 'web'),
      slice('w', 'web', blue.port, ['127.0.60.1']),
      ingress('w', 'web', [{ host: 'web.w.test', service: 'web' }]),
    ]);
    const gw = await startClusterGateway(cluster, ['--workers', '2']);
    try {
      await gw.waitForLog((l) => l.msg === 'synced: ready');
      expect((await request(gw.metrics, { path: '/readyz' })).status).toBe(200);
      const first = await servedByBoth(gw, 'web.w.test');
      expect(new Set(first.map((a) => a.pod))).toEqual(new Set(['blue-0']));
      expect(new Set(first.map((a) => a.pid)).size).toBe(2);

      const compiles = count(gw, 'configuration applied');
      const swaps = count(gw, 'endpoints applied');
      cluster.api.apply(slice('w', 'web', blue.port, ['127.0.60.2']));
      await gw.waitForLog(() => count(gw, 'endpoints applied') > swaps);
      expect(count(gw, 'configuration applied')).toBe(compiles);
      const moved = await servedByBoth(gw, 'web.w.test');
      expect(new Set(moved.map((a) => a.pod))).toEqual(new Set(['blue-1']));
      expect(new Set(moved.map((a) => a.pid)).size).toBe(2);
    } finally {
      await gw.stop();
      await cluster.stop();
    }
  });
});

describe('a gateway whose workers cannot start', () => {
  it('exits 1 saying why (a port in use), restarting nothing', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const { file } = await tempConfig(objects(blue));
      const r = await runCli([
        ...['--config', file, '--workers', '2', '--bind-address', '127.0.0.1'],
        ...['--http-port', String(port), '--https-port', '0', '--metrics-port', '0'],
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/could not start: .*EADDRINUSE/);
      expect(r.stdout).not.toMatch(/starting another/);
    } finally {
      taken.close();
    }
  });
});

describe('a worker that dies', () => {
  it('is replaced, with the configuration, while the other serves without one failed request', {
    timeout: 40_000,
  }, async () => {
    const { file } = await tempConfig(objects(blue));
    const gw = await startGateway(['--config', file, '--workers', '2', '--no-access-log']);
    try {
      const [a, b] = workerPids(gw);
      // Keep-alive clients, each on one connection, until `b` holds two and `a` one.
      const clients: { agent: http.Agent; pid: number; ok: number; failed: number }[] = [];
      const held = (pid: number) => clients.filter((c) => c.pid === pid).length;
      for (let i = 0; i < 40 && (held(b!) < 2 || held(a!) < 1); i++) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const s = await new Promise<number | undefined>((resolve, reject) => {
          const req = http.get(
            { host: '127.0.0.1', port: gw.http, agent, headers: { host: 'web.w.test' } },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve(
                  pidOfConnection(
                    [a!, b!],
                    { ip: '127.0.0.1', port: gw.http },
                    { ip: '127.0.0.1', port: req.socket!.localPort! },
                  ),
                ),
              );
            },
          );
          req.on('error', reject);
        });
        clients.push({ agent, pid: s!, ok: 0, failed: 0 });
      }
      const survivors = clients.filter((c) => c.pid === b);
      const doomed = clients.filter((c) => c.pid === a);
      expect(survivors.length).toBeGreaterThanOrEqual(2);
      expect(doomed.length).toBeGreaterThanOrEqual(1);

      let running = true;
      const loop = async (c: (typeof clients)[number]): Promise<void> => {
        while (running) {
          try {
            const r = await request(gw.http, { host: 'web.w.test', agent: c.agent });
            if (r.status === 200) c.ok++;
            else c.failed++;
          } catch {
            c.failed++;
            // A connection of the killed worker: the next request opens a new one.
          }
        }
      };
      const loops = [...survivors, ...doomed].map(loop);
      await eventually(async () => survivors.every((c) => c.ok > 20), 'load on the surviving worker');
      const restarted = count(gw, 'worker started');
      process.kill(a!, 'SIGKILL');
      await gw.waitForLog((l) => l.msg === 'worker exited; starting another' && l.pid === a);
      await gw.waitForLog(() => count(gw, 'worker started') > restarted);
      const okBefore = survivors.map((c) => c.ok);
      await eventually(
        async () => survivors.every((c, i) => c.ok > okBefore[i]! + 20),
        'more load after the kill',
      );
      // The replacement serves the configuration from its first connection: fresh connections reach
      // it (round robin over the workers) and every answer is the backend's.
      const replacement = workerPids(gw).find((p) => p !== b)!;
      const { value: answers } = await eventually(
        async () => {
          const got = await servedMany(gw, 4, 'web.w.test');
          return got.some((s) => s.pid === replacement) ? got : undefined;
        },
        'a connection on the new worker',
        10_000,
      );
      running = false;
      await Promise.all(loops);
      expect(answers.map((s) => `${s.status} ${s.pod?.split('-')[0]}`)).toEqual(Array(4).fill('200 blue'));
      expect(survivors.map((c) => c.failed)).toEqual(survivors.map(() => 0));
      // The killed worker's clients lost their connection (at most one request each), then were served.
      for (const c of doomed) expect(c.failed).toBeLessThanOrEqual(1);
      for (const c of clients) c.agent.destroy();
    } finally {
      await gw.stop('SIGKILL');
    }
  });
});

describe('SIGTERM on the primary', () => {
  it('drains the requests in flight on both workers and exits 0', { timeout: 30_000 }, async () => {
    const { file } = await tempConfig(objects(blue));
    const gw = await startGateway(['--config', file, '--workers', '2', '--shutdown-timeout', '10']);
    const pids = workerPids(gw);
    // Slow downloads (2 s) until both workers hold one.
    const downloads: { pid: number | undefined; done: Promise<{ status: number; bytes: number }> }[] = [];
    for (let i = 0; i < 40 && new Set(downloads.map((d) => d.pid)).size < 2; i++) {
      let onPid!: (pid: number | undefined) => void;
      const pid = new Promise<number | undefined>((r) => (onPid = r));
      const done = new Promise<{ status: number; bytes: number }>((resolve, reject) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port: gw.http,
            path: '/stream?chunks=20&intervalMs=100',
            agent: false,
            headers: { host: 'web.w.test' },
          },
          (res) => {
            let bytes = 0;
            res.once('data', () =>
              onPid(
                pidOfConnection(
                  pids,
                  { ip: '127.0.0.1', port: gw.http },
                  { ip: '127.0.0.1', port: req.socket!.localPort! },
                ),
              ),
            );
            res.on('data', (d: Buffer) => (bytes += d.length));
            res.on('end', () => resolve({ status: res.statusCode!, bytes }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
      });
      downloads.push({ pid: await pid, done });
    }
    expect(new Set(downloads.map((d) => d.pid))).toEqual(new Set(pids));
    const code = gw.stop('SIGTERM');
    const results = await Promise.all(downloads.map((d) => d.done));
    expect(results).toEqual(downloads.map(() => ({ status: 200, bytes: 20 * 1024 })));
    expect(await code).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
