// Test support: fake backends on loopback IPs, hand-built configs, a round-robin picker, raw clients.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Endpoint, Route } from '@gateway/translate';
import { DataPlane } from './data-plane.js';
import type {
  Active,
  CertificateSource,
  DataPlaneOptions,
  EndpointChooser,
  EndpointTable,
  RequestRecord,
} from './types.js';

let cert: { key: string; cert: string } | undefined;

/** A self-signed EC certificate for `localhost`, made once per process with the openssl CLI. */
export function testCertificate(): { key: string; cert: string } {
  if (cert !== undefined) return cert;
  const dir = mkdtempSync(join(tmpdir(), 'dp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,DNS:*.example.com,DNS:secure.example.com',
      ],
      { stdio: 'ignore' },
    );
    cert = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
    return cert;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function certificateSource(): CertificateSource {
  const { key, cert } = testCertificate();
  return {
    serverOptions: () => ({
      SNICallback: (_name, cb) => cb(null),
      key,
      cert,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    }),
  };
}

/** Round robin per backend key, skipping excluded endpoints. */
export class RoundRobin implements EndpointChooser {
  private readonly next = new Map<string, number>();
  picks = 0;
  pick(
    backend: Backend,
    eps: readonly Endpoint[],
    _clientIp: string,
    exclude?: ReadonlySet<string>,
  ): Endpoint | undefined {
    this.picks++;
    const start = this.next.get(backend.key) ?? 0;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[(start + i) % eps.length]!;
      if (exclude?.has(`${ep.address}:${ep.port}`)) continue;
      this.next.set(backend.key, start + i + 1);
      return ep;
    }
    return undefined;
  }
}

/** A backend with the endpoints the config's endpoint table is to hold for it. */
export type TestBackend = Backend & { readonly endpoints: readonly Endpoint[] };

export function backend(name: string, endpoints: Endpoint[], external = false): TestBackend {
  return {
    key: `default/${name}:80`,
    namespace: 'default',
    service: name,
    portName: external ? undefined : 'http',
    endpoints,
    external,
  };
}

export interface RouteSpec {
  host: string;
  path: string;
  backend: TestBackend | undefined;
  tlsRedirect?: boolean;
}

/** What a data plane is given: the active configuration and its endpoints. */
export interface TestConfig {
  active: Active;
  endpoints: EndpointTable;
}

export function apply(plane: DataPlane, cfg: TestConfig): void {
  plane.setActive(cfg.active, cfg.endpoints);
}

/** A config whose table matches exact hosts ('' = any) and path prefixes, longest first. */
export function config(specs: RouteSpec[]): TestConfig {
  const routes: Route[] = specs.map((s) => ({
    namespace: 'default',
    ingress: `ing-${s.backend?.service ?? 'none'}`,
    service: s.backend?.service ?? 'none',
    host: s.host,
    path: s.path,
    backend: s.backend,
    tlsRedirect: s.tlsRedirect ?? false,
  }));
  const sorted = [...routes].sort((a, b) => b.path.length - a.path.length);
  const endpoints = new Map<string, readonly Endpoint[]>();
  for (const s of specs) if (s.backend) endpoints.set(s.backend.key, s.backend.endpoints);
  return {
    active: {
      routes: {
        match(host, path) {
          for (const r of sorted) {
            if (r.host !== '' && r.host !== host) continue;
            if (
              path === r.path ||
              path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`) ||
              r.path === '/'
            )
              return r;
          }
          return undefined;
        },
      },
      certificates: { lookup: () => undefined },
    },
    endpoints,
  };
}

export interface Backends {
  port: number;
  servers: http.Server[];
  close(): Promise<void>;
}

/** The same handler on each IP, all on one port. */
export async function startBackends(
  ips: string[],
  handler: (req: http.IncomingMessage, res: http.ServerResponse, ip: string) => void,
): Promise<Backends> {
  const servers: http.Server[] = [];
  let port = 0;
  for (const ip of ips) {
    const s = http.createServer((req, res) => handler(req, res, ip));
    s.listen(port, ip);
    await once(s, 'listening');
    port = (s.address() as net.AddressInfo).port;
    servers.push(s);
  }
  return {
    port,
    servers,
    async close() {
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
    },
  };
}

/** A raw TCP backend for faulty behaviour. */
export async function startRawBackend(
  ip: string,
  onConnection: (socket: net.Socket) => void,
): Promise<net.Server> {
  const s = net.createServer(onConnection);
  s.listen(0, ip);
  await once(s, 'listening');
  return s;
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** A port on `ip` where nothing listens (bound, then closed). */
export async function closedPort(ip: string): Promise<number> {
  const s = net.createServer();
  s.listen(0, ip);
  await once(s, 'listening');
  const port = portOf(s);
  s.close();
  await once(s, 'close');
  return port;
}

export interface Gateway {
  plane: DataPlane;
  http: number;
  https: number;
  records: RequestRecord[];
  connections: { open: number; closed: number };
  picker: RoundRobin;
  close(): Promise<void>;
}

export async function startGateway(
  cfg: TestConfig | undefined,
  opts: Partial<DataPlaneOptions> = {},
): Promise<Gateway> {
  const records: RequestRecord[] = [];
  const connections = { open: 0, closed: 0 };
  const picker = new RoundRobin();
  const plane = new DataPlane({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    certificates: certificateSource(),
    picker,
    observer: {
      requestEnded: (r) => records.push(r),
      connectionOpened: () => connections.open++,
      connectionClosed: () => connections.closed++,
    },
    ...opts,
  });
  if (cfg) apply(plane, cfg);
  const ports = await plane.listen();
  return {
    plane,
    http: ports.httpPort,
    https: ports.httpsPort,
    records,
    connections,
    picker,
    close: () => plane.close(200),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  trailers: http.IncomingHttpHeaders;
}

export function request(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer;
    agent?: http.Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: {
          host: 'example.com',
          ...(opts.body === undefined ? {} : { 'content-length': Buffer.byteLength(opts.body) }),
          ...opts.headers,
        },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            trailers: res.trailers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Writes raw bytes and collects everything until the server closes the connection. */
export function raw(port: number, data: string | Buffer, endAfterWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => (chunks.length > 0 ? resolve(Buffer.concat(chunks).toString()) : reject(e)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.write(data);
    if (endAfterWrite) socket.end();
  });
}

/** Waits until `cond` holds (server-side bookkeeping that trails a client event); bounded. */
export async function until(cond: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Teardown a test file registers as it goes (`defer`), run newest first after each test (`runDeferred`). */
const deferred: (() => Promise<void> | void)[] = [];

export function defer(cleanup: () => Promise<void> | void): void {
  deferred.push(cleanup);
}

export async function runDeferred(): Promise<void> {
  for (const c of deferred.splice(0).reverse()) await c();
}

/** `startGateway`, closed after the test. */
export async function trackedGateway(...args: Parameters<typeof startGateway>): Promise<Gateway> {
  const gw = await startGateway(...args);
  defer(() => gw.close());
  return gw;
}

/**
 * Ports on `ips` where a connect times out: a listener (python3, which can leave connections
 * unaccepted) with backlog 0 whose accept queue one connection of ours fills, so further SYNs go
 * unanswered. Closed after the test.
 */
export async function unansweredPorts(ips: string[]): Promise<number[]> {
  const script = [
    'import socket,sys',
    'ss=[]',
    'for ip in sys.argv[1:]:',
    '  s=socket.socket()',
    '  s.bind((ip,0))',
    '  s.listen(0)',
    '  ss.append(s)',
    "print(' '.join(str(s.getsockname()[1]) for s in ss),flush=True)",
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script, ...ips], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  defer(() => {
    for (const f of fillers) f.destroy();
    child.kill();
  });
  const [data] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = data.toString().trim().split(' ').map(Number);
  for (let i = 0; i < ips.length; i++) {
    // With backlog 0 the accept queue holds one connection.
    const f = net.connect(ports[i]!, ips[i]!).on('error', () => {});
    fillers.push(f);
    await once(f, 'connect');
  }
  return ports;
}
