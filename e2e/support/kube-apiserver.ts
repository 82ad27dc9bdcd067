// A real Kubernetes API server for tests: Debian's etcd and a kube-apiserver v1.20.2 built from Debian's
// source package by scripts/kube-apiserver/build.sh (into a cache outside the repository, the first
// time only), both on free loopback ports, with RBAC and static token users. `stop()` ends exactly the
// two process groups it started and removes its temporary folder.
//
// No controller-manager runs: nothing creates service accounts, tokens or namespaces' defaults, and
// nothing garbage-collects. Use a fresh namespace (or a fresh server) per test.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reapAtEnd } from './reaper.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = join(ROOT, 'scripts/kube-apiserver/build.sh');

/** A static token user (`--token-auth-file`): what RBAC tests authenticate as. */
export interface TokenUser {
  name: string;
  groups?: string[];
  /** Generated when absent. */
  token?: string;
  uid?: string;
}

export interface RealApiServerOptions {
  /** Token users besides the admin (`admin`, group `system:masters`). */
  users?: TokenUser[];
  /** Extra kube-apiserver flags (`--flag=value`), appended last. */
  apiServerArgs?: string[];
  /** Milliseconds to wait for `/readyz` (default 60 s). */
  readyTimeoutMs?: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RealApiServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  etcdUrl: string;
  /** The temporary folder: keys, certificates, token file, kubeconfigs, logs, etcd's data. */
  dir: string;
  /** PEM of the CA that signed the serving certificate (also in every kubeconfig written). */
  caPem: string;
  /** Admin kubeconfig: token user `admin` in group `system:masters`. */
  kubeconfigPath: string;
  adminToken: string;
  /** The token of a user given in `users` or added with `addUsers`. */
  tokenFor(name: string): string;
  /** Writes (once) and returns a kubeconfig for a token user. */
  kubeconfigFor(name: string, namespace?: string): Promise<string>;
  /** Adds token users; restarts the API server (the token file is read at start only). */
  addUsers(users: TokenUser[]): Promise<void>;
  /** Debian's kubectl v1.20.2 with the admin kubeconfig (or `as`'s). Throws on a non-zero exit unless `check: false`. */
  kubectl(args: string[], opts?: { input?: string; as?: string; check?: boolean }): Promise<CommandResult>;
  /** etcdctl (API v3) against this etcd. */
  etcdctl(args: string[], opts?: { check?: boolean }): Promise<CommandResult>;
  /** Compacts etcd at its current revision (watches from older resourceVersions then get 410 Gone). */
  compact(): Promise<number>;
  /** Process ids of the running etcd and kube-apiserver (each leads its own process group). */
  pids(): { etcd: number; apiServer: number };
  /** Stops the kube-apiserver and starts it again on the same port; etcd and its data are kept. */
  restartApiServer(): Promise<void>;
  /** Stops both processes (SIGTERM to each group, SIGKILL after 5 s) and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

let binaryPaths: Promise<{ apiServer: string; kubectl: string }> | undefined;

/**
 * Runs scripts/kube-apiserver/build.sh once per process: well under a second when the binary is cached,
 * minutes (and root, for apt) the first time on a machine. Resolves with the binaries' paths.
 */
export function ensureKubeApiServer(): Promise<{ apiServer: string; kubectl: string }> {
  binaryPaths ??= new Promise((resolve, reject) => {
    // The script's progress (stderr) is passed through: a first build is minutes of otherwise silence.
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const apiServer = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !apiServer) {
        binaryPaths = undefined;
        reject(new Error(`${BUILD_SCRIPT} exited ${code}:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ apiServer, kubectl: join(dirname(apiServer), 'kubectl') });
    });
  });
  return binaryPaths;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((r) => server.close(r));
  return port;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; cwd?: string; check?: boolean; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (opts.check !== false && code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
    // A command that exits without reading its input (openssl, kubectl refusing its flags) closes the
    // pipe: the exit code says what happened, the EPIPE says nothing more.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

const openssl = (args: string[], cwd: string) => run('openssl', args, { cwd });

/** CA, serving certificate for 127.0.0.1/localhost, and the service-account key pair. */
async function makeKeys(dir: string): Promise<void> {
  const days = ['-days', '7'];
  await Promise.all([
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-subj',
        '/CN=ingress-gateway-test-ca',
        ...days,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    ),
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'server.key',
        '-out',
        'server.csr',
        '-subj',
        '/CN=kube-apiserver',
      ],
      dir,
    ),
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir),
  ]);
  await writeFile(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  await Promise.all([
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.crt',
        ...days,
        '-extfile',
        'server.ext',
      ],
      dir,
    ),
    openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir),
  ]);
}

interface Managed {
  child: ChildProcess;
  exited: Promise<void>;
  log: () => Promise<string>;
}

/** Every group started and not yet stopped: killed when the test process exits regardless. */
const live = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  live.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of live) {
        try {
          process.kill(-g, 'SIGKILL');
        } catch {}
      }
    });
  }
}

async function startProcess(cmd: string, args: string[], logPath: string): Promise<Managed> {
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(logPath, 'a');
  // Its own process group (detached), so stop() can signal it and anything it forks, and nothing else.
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  trackGroup(child.pid as number);
  reapAtEnd(child, { group: true });
  return { child, exited, log: () => readFile(logPath, 'utf8').catch(() => '') };
}

async function stopProcess(p: Managed | undefined): Promise<void> {
  if (!p || p.child.pid === undefined) return;
  const pid = p.child.pid;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {}
  };
  if (p.child.exitCode === null && p.child.signalCode === null) {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await p.exited;
    clearTimeout(timer);
  }
  signal('SIGKILL'); // anything left in the group
  live.delete(pid);
}

function get(
  url: string,
  ca: string,
  token: string | undefined,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${path}`,
      { ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  proc: Managed,
  timeoutMs: number,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(
        `${what} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${(await proc.log()).slice(-4000)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`${what} not ready within ${timeoutMs} ms:\n${(await proc.log()).slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

export async function startRealApiServer(opts: RealApiServerOptions = {}): Promise<RealApiServer> {
  const bins = await ensureKubeApiServer();
  const dir = await mkdtemp(join(tmpdir(), 'kube-apiserver-'));
  const users = new Map<string, Required<TokenUser>>();
  const addToMap = (list: TokenUser[]) => {
    for (const u of list) {
      users.set(u.name, {
        name: u.name,
        groups: u.groups ?? [],
        token: u.token ?? randomBytes(16).toString('hex'),
        uid: u.uid ?? u.name,
      });
    }
  };
  addToMap([{ name: 'admin', groups: ['system:masters'] }, ...(opts.users ?? [])]);
  const tokenFile = join(dir, 'tokens.csv');
  // token,user,uid,"group1,group2"
  const writeTokens = () =>
    writeFile(
      tokenFile,
      `${[...users.values()].map((u) => [u.token, u.name, u.uid, ...(u.groups.length ? [u.groups.join(',')] : [])].map(csvField).join(',')).join('\n')}\n`,
      { mode: 0o600 },
    );

  let etcd: Managed | undefined;
  let apiServer: Managed | undefined;
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await stopProcess(apiServer);
    await stopProcess(etcd);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([makeKeys(dir), writeTokens()]);
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
    const [etcdPort, peerPort, port] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    etcd = await startProcess(
      'etcd',
      [
        '--name=test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        '--initial-cluster-state=new',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    const etcdProc = etcd;
    await waitUntil(
      'etcd',
      async () => {
        const r = await fetch(`${etcdUrl}/health`);
        return r.ok && (JSON.parse(await r.text()) as { health?: string }).health === 'true';
      },
      etcdProc,
      opts.readyTimeoutMs ?? 60_000,
    );

    const url = `https://127.0.0.1:${port}`;
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      '--insecure-port=0',
      `--tls-cert-file=${join(dir, 'server.crt')}`,
      `--tls-private-key-file=${join(dir, 'server.key')}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--v=1',
      ...(opts.apiServerArgs ?? []),
    ];
    const admin = users.get('admin') as Required<TokenUser>;
    const startApiServer = async () => {
      apiServer = await startProcess(bins.apiServer, apiArgs, join(dir, 'kube-apiserver.log'));
      await waitUntil(
        'kube-apiserver',
        async () => (await get(url, caPem, admin.token, '/readyz')).status === 200,
        apiServer,
        opts.readyTimeoutMs ?? 60_000,
      );
    };
    await startApiServer();

    const kubeconfigs = new Map<string, string>();
    const kubeconfigFor = async (name: string, namespace = 'default') => {
      const key = `${name}\0${namespace}`;
      const existing = kubeconfigs.get(key);
      if (existing) return existing;
      const user = users.get(name);
      if (!user) throw new Error(`no token user ${name}`);
      const path = join(dir, `kubeconfig-${kubeconfigs.size}-${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}.json`);
      // JSON is YAML: kubectl and @kubernetes/client-node read it alike.
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'real',
            cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
          },
        ],
        users: [{ name, user: { token: user.token } }],
        contexts: [{ name: 'real', context: { cluster: 'real', user: name, namespace } }],
        'current-context': 'real',
      };
      await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      kubeconfigs.set(key, path);
      return path;
    };
    const kubeconfigPath = await kubeconfigFor('admin');

    const restartApiServer = async () => {
      if (stopped) throw new Error('stopped');
      await stopProcess(apiServer);
      await startApiServer();
    };
    const etcdctl = (args: string[], o: { check?: boolean } = {}) =>
      run('etcdctl', [`--endpoints=${etcdUrl}`, ...args], { check: o.check });

    return {
      url,
      port,
      etcdUrl,
      dir,
      caPem,
      kubeconfigPath,
      adminToken: admin.token,
      tokenFor(name) {
        const u = users.get(name);
        if (!u) throw new Error(`no token user ${name}`);
        return u.token;
      },
      kubeconfigFor,
      async addUsers(list) {
        addToMap(list);
        await writeTokens();
        await restartApiServer();
      },
      async kubectl(args, o = {}) {
        const kubeconfig = o.as ? await kubeconfigFor(o.as) : kubeconfigPath;
        return run(bins.kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { input: o.input, check: o.check });
      },
      etcdctl,
      async compact() {
        const status = JSON.parse((await etcdctl(['endpoint', 'status', '--write-out=json'])).stdout) as {
          Status: { header: { revision: number } };
        }[];
        const revision = status[0]?.Status.header.revision;
        if (!revision) throw new Error('etcdctl endpoint status: no revision');
        await etcdctl(['compact', String(revision)]);
        return revision;
      },
      pids: () => ({ etcd: etcdProc.child.pid as number, apiServer: apiServer?.child.pid as number }),
      restartApiServer,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
