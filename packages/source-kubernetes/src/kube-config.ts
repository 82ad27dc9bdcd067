// Where the API server is and who the gateway is to it: the pod's service account (`--kubernetes`) or a
// kubeconfig file (`--kubeconfig`), and the gateway's own namespace (for its Lease).
//
// Read here rather than by client-node's `KubeConfig`: importing that class loads every generated API
// client and model of the package (about 50 MB of RSS, a sixth of the gateway's budget at 10,000
// Ingresses). The credentials a gateway runs with — a service account, a token, a client certificate,
// a CA, basic auth — are read here; a kubeconfig whose user runs a credential plugin (`exec`,
// `auth-provider`) or whose cluster sits behind a proxy (`proxy-url`) is handed to client-node's
// `KubeConfig`, imported only then.
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file at most once a minute (bound service-account tokens rotate). */
const TOKEN_FILE_REREAD_MS = 60_000;

/**
 * What a request to the API server needs: the server, and a way to put the credentials on a request.
 * client-node's `KubeConfig` has the same two methods, so its `Watch` takes either.
 */
export interface ClusterAccess {
  getCurrentCluster(): { readonly server: string } | null;
  applySecurityAuthentication(context: RequestContext): Promise<void>;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: ClusterAccess;
  /** The gateway's namespace: POD_NAMESPACE, the service account's, the context's, else `default`. */
  readonly namespace: string;
}

export interface ClusterCredentials {
  readonly server: string;
  readonly ca?: Buffer;
  readonly skipTLSVerify?: boolean;
  readonly tlsServerName?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** Re-read now and then: kubelet rotates a projected service-account token. */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  /** `as:` in a kubeconfig. */
  readonly impersonate?: string;
}

/** Credentials read once; one connection pool per gateway, not one per request. */
export class KubeAccess implements ClusterAccess {
  private readonly cluster: { server: string };
  private readonly dispatcher: Dispatcher | undefined;
  private token: string | undefined;
  private tokenReadAt = 0;

  constructor(private readonly credentials: ClusterCredentials) {
    const server = credentials.server.replace(/\/+$/, '');
    this.cluster = { server };
    if (server.startsWith('http:') && credentials.skipTLSVerify !== true) {
      // As client-node: credentials are not sent in the clear by accident.
      throw new Error(`${server}: plain http:// is allowed only with insecure-skip-tls-verify`);
    }
    const tls = {
      ...(credentials.ca !== undefined ? { ca: credentials.ca } : {}),
      ...(credentials.cert !== undefined ? { cert: credentials.cert } : {}),
      ...(credentials.key !== undefined ? { key: credentials.key } : {}),
      ...(credentials.skipTLSVerify === true ? { rejectUnauthorized: false } : {}),
      ...(credentials.tlsServerName !== undefined ? { servername: credentials.tlsServerName } : {}),
    };
    // client-go's keep-alive probe interval, so an idle watch survives a cloud load balancer's timeout.
    this.dispatcher = server.startsWith('https:')
      ? new Agent({ connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } })
      : undefined;
    this.token = credentials.token;
  }

  getCurrentCluster(): { readonly server: string } {
    return this.cluster;
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const c = this.credentials;
    if (c.tokenFile !== undefined && Date.now() - this.tokenReadAt > TOKEN_FILE_REREAD_MS) {
      this.token = readFileSync(c.tokenFile, 'utf8').trim();
      this.tokenReadAt = Date.now();
    }
    if (this.token !== undefined && this.token !== '') {
      context.setHeaderParam('Authorization', `Bearer ${this.token}`);
    } else if (c.username !== undefined) {
      const basic = Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64');
      context.setHeaderParam('Authorization', `Basic ${basic}`);
    }
    if (c.impersonate !== undefined) context.setHeaderParam('Impersonate-User', c.impersonate);
    if (this.dispatcher !== undefined) context.setDispatcher(this.dispatcher);
  }
}

/** Throws with a message naming the file or the missing in-cluster setting. */
export async function loadKubeConfig(
  source: { inCluster: true } | { path: string },
): Promise<LoadedKubeConfig> {
  let namespace: string | undefined = process.env.POD_NAMESPACE || undefined;
  if (!('path' in source)) {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT;
    if (!host) throw new Error('--kubernetes: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
    // client-node's rule: these ports are plain HTTP (a local proxy), every other one HTTPS.
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    let ca: Buffer;
    try {
      ca = readFileSync(`${SERVICE_ACCOUNT}/ca.crt`);
    } catch (err) {
      throw new Error(`--kubernetes: cannot read the service account's CA: ${(err as Error).message}`);
    }
    const kubeConfig = new KubeAccess({
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      ca,
      tokenFile: `${SERVICE_ACCOUNT}/token`,
    });
    try {
      namespace ??= readFileSync(`${SERVICE_ACCOUNT}/namespace`, 'utf8').trim();
    } catch {
      // Not mounted: fall through to the default.
    }
    return { kubeConfig, namespace: namespace || 'default' };
  }
  const { path } = source;
  let text: string;
  let config: KubeconfigFile;
  try {
    text = readFileSync(path, 'utf8');
    config = (parse(text) ?? {}) as KubeconfigFile;
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  const current = config['current-context'];
  const context = named(config.contexts, current)?.context;
  const cluster = named(config.clusters, context?.cluster)?.cluster;
  if (context === undefined || cluster?.server === undefined) {
    throw new Error(`kubeconfig ${path}: no current context with a cluster`);
  }
  namespace ??= context.namespace;
  const user = named(config.users, context.user)?.user ?? {};
  if (user.exec != null || user['auth-provider'] != null || cluster['proxy-url'] != null) {
    return { kubeConfig: await clientNodeKubeConfig(path), namespace: namespace || 'default' };
  }
  const file = (name: string | undefined) =>
    name === undefined ? undefined : isAbsolute(name) ? name : join(dirname(path), name);
  const read = (what: string, fileName: string | undefined, data: string | undefined) => {
    try {
      if (fileName !== undefined) return readFileSync(file(fileName)!);
      return data === undefined ? undefined : Buffer.from(data, 'base64');
    } catch (err) {
      throw new Error(`kubeconfig ${path}: ${what}: ${(err as Error).message}`);
    }
  };
  const credentials: ClusterCredentials = {
    server: cluster.server,
    ...defined(
      'ca',
      read('certificate-authority', cluster['certificate-authority'], cluster['certificate-authority-data']),
    ),
    ...defined('skipTLSVerify', cluster['insecure-skip-tls-verify'] === true ? true : undefined),
    ...defined('tlsServerName', cluster['tls-server-name']),
    ...defined(
      'cert',
      read('client-certificate', user['client-certificate'], user['client-certificate-data']),
    ),
    ...defined('key', read('client-key', user['client-key'], user['client-key-data'])),
    ...defined('token', user.token),
    ...defined('tokenFile', file(user.tokenFile ?? user['token-file'])),
    ...defined('username', user.username),
    ...defined('password', user.password),
    ...defined('impersonate', user.as),
  };
  try {
    return { kubeConfig: new KubeAccess(credentials), namespace: namespace || 'default' };
  } catch (err) {
    throw new Error(`kubeconfig ${path}: ${(err as Error).message}`);
  }
}

/** A credential plugin or a proxy: client-node's `KubeConfig` knows them all; it is loaded only for them. */
async function clientNodeKubeConfig(path: string): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(path);
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  return kubeConfig;
}

function named<T>(list: Array<{ name?: string } & T> | undefined, name: string | undefined): T | undefined {
  return name === undefined ? undefined : list?.find((e) => e?.name === name);
}

function defined<K extends string, V>(key: K, value: V | undefined | null): { [P in K]?: V } {
  return (value === undefined || value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The fields of a kubeconfig file (`kubectl config view`) read here. */
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Array<{
    name?: string;
    cluster?: {
      server?: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
      'tls-server-name'?: string;
      'proxy-url'?: string;
    };
  }>;
  users?: Array<{
    name?: string;
    user?: {
      token?: string;
      tokenFile?: string;
      'token-file'?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      username?: string;
      password?: string;
      as?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }>;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string; namespace?: string } }>;
}
