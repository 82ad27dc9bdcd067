import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { discovery, type VersionInfo } from './discovery.js';
import { type HandlerContext, handleResource } from './handler.js';
import {
  type KubeConfigObject,
  type KubeconfigOptions,
  kubeConfigObject,
  kubeconfigYaml,
} from './kubeconfig.js';
import { forbiddenMessage, type RequestMatch, type RequestRecord, requestMatches } from './requests.js';
import { groupVersion, type KubeObject, type ResourceType, resourceTypes } from './resources.js';
import { HttpError, sendJson, sendStatus } from './respond.js';
import { findType, parseResourcePath, verbOf } from './routes.js';
import { Store, type StoreEvent } from './store.js';

export interface FixtureOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, kept across restart()/down()/up(). */
  port?: number;
  /** Accepted bearer tokens and the user each one authenticates; default { 'fixture-token': 'fixture-user' }. */
  tokens?: Record<string, string>;
  /** Interval of BOOKMARK events on watches that allow them; default 1000. 0 = only on bookmark(). */
  bookmarkIntervalMs?: number;
  /** How a watch from a compacted resourceVersion is refused; default 'event' (what kube-apiserver does). */
  expiredWatch?: 'event' | 'http';
  /** discovery.k8s.io versions served (EndpointSlice); default ['v1']. */
  endpointSliceVersions?: string[];
  /** Clock for creationTimestamp. */
  now?: () => Date;
  /** What /version answers. */
  version?: Partial<VersionInfo>;
  /** Objects stored before the server starts. */
  objects?: object[];
}

export interface FailSpec extends RequestMatch {
  /** HTTP status to answer with (a Status body of the matching reason). */
  status: number;
  /** How many matching requests fail; default 1. */
  times?: number;
  message?: string;
}

export interface WatchInfo {
  resource: string;
  group: string;
  namespace: string | undefined;
  fromRv: number | undefined;
  bookmarks: boolean;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Only consider requests logged at or after this index of `requests`; default 0 (the whole log). */
  fromIndex?: number;
}

/** A write as seen by the 'write' event. */
export interface WriteEvent {
  type: StoreEvent['type'];
  resource: string;
  group: string;
  object: KubeObject;
}

const publicPaths = new Set(['/version', '/healthz', '/livez', '/readyz']);

/**
 * An in-process Kubernetes API server for tests: list/watch/CRUD over JSON, with the knobs to make it
 * misbehave. Emits 'request' (RequestRecord) and 'write' (WriteEvent).
 */
export class ApiServerFixture extends EventEmitter {
  readonly requests: RequestRecord[] = [];
  private readonly store: Store;
  private readonly types: ResourceType[];
  private readonly tokens: Record<string, string>;
  private readonly version: VersionInfo;
  private readonly ctx: HandlerContext;
  private readonly sockets = new Set<Socket>();
  private faults: (FailSpec & { times: number })[] = [];
  private denials: RequestMatch[] = [];
  private server: Server | undefined;
  private boundPort = 0;

  private constructor(private readonly options: FixtureOptions) {
    super();
    this.types = resourceTypes({ endpointSliceVersions: options.endpointSliceVersions });
    this.store = new Store(options.now);
    this.tokens = options.tokens ?? { 'fixture-token': 'fixture-user' };
    this.version = { major: '1', minor: '33', gitVersion: 'v1.33.0', ...options.version };
    this.ctx = {
      store: this.store,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
      expiredWatch: options.expiredWatch ?? 'event',
      watches: new Set(),
    };
    this.store.subscribe((e) =>
      this.emit('write', {
        type: e.type,
        resource: e.type_.resource,
        group: e.type_.group,
        object: e.object,
      } satisfies WriteEvent),
    );
    for (const obj of options.objects ?? []) this.apply(obj);
  }

  static async start(options: FixtureOptions = {}): Promise<ApiServerFixture> {
    const fixture = new ApiServerFixture(options);
    fixture.boundPort = options.port ?? 0;
    await fixture.up();
    return fixture;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The current (global) resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  // --- lifecycle ---

  /** Starts listening (again) on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    this.server = await this.listen();
  }

  /**
   * Closes the listener and every connection (the state is kept): clients get "connection refused"
   * until up(). Graceful (default) ends watch streams cleanly first, as a draining kube-apiserver
   * does; otherwise the sockets are cut.
   */
  async down(options: { graceful?: boolean } = {}): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await this.close(server, options.graceful ?? true);
  }

  /**
   * An API-server restart with etcd kept. The new listener is bound before the old connections are
   * closed, so clients that reconnect at once find it (a real restart may refuse them for a while:
   * use down()/up() for that).
   */
  async restart(options: { graceful?: boolean } = {}): Promise<void> {
    const old = this.server;
    if (!old) return this.up();
    const oldSockets = new Set(this.sockets);
    this.sockets.clear();
    const closed = new Promise<void>((resolve) => old.close(() => resolve()));
    this.server = await this.listen();
    this.dropWatches({ graceful: options.graceful ?? true });
    old.closeAllConnections();
    for (const s of oldSockets) s.destroy();
    await closed;
  }

  private async listen(): Promise<Server> {
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.boundPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    return server;
  }

  private async close(server: Server, graceful: boolean): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.dropWatches({ graceful });
    server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async stop(): Promise<void> {
    await this.down({ graceful: false });
  }

  // --- client configuration ---

  kubeConfigObject(options: KubeconfigOptions = {}): KubeConfigObject {
    return kubeConfigObject(this.url, options.token ?? Object.keys(this.tokens)[0] ?? '', options);
  }

  /** Writes a kubeconfig for this server into `dir`; returns its path. */
  async writeKubeconfig(dir: string, options: KubeconfigOptions = {}): Promise<string> {
    const path = join(dir, options.fileName ?? 'kubeconfig');
    await writeFile(path, kubeconfigYaml(this.kubeConfigObject(options)));
    return path;
  }

  // --- object store ---

  /** Creates or replaces an object (status included, as given), defaulting its namespace to "default". */
  apply<T extends object>(input: T): T {
    const obj = input as KubeObject;
    const type = this.typeOfObject(obj);
    const namespace = type.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    const name = obj.metadata?.name;
    if (!name) throw new Error('apply: metadata.name is required');
    const given = structuredClone(obj) as KubeObject;
    given.metadata = { ...given.metadata, namespace };
    if (namespace === undefined) delete given.metadata.namespace;
    const stored = this.store.get(type, namespace, name)
      ? this.store.update(type, namespace, name, () => given)
      : this.store.create(type, given);
    return this.present(type, stored) as T;
  }

  /** Deletes an object; returns what was stored, or undefined if there was none. */
  remove(ref: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.typeOf(ref);
    if (!this.store.get(type, namespace, name)) return undefined;
    return this.present(type, this.store.delete(type, namespace, name));
  }

  get(ref: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.typeOf(ref);
    const obj = this.store.get(type, namespace, name);
    return obj && this.present(type, structuredClone(obj));
  }

  list(ref: string, namespace?: string): KubeObject[] {
    const type = this.typeOf(ref);
    return this.store.list(type, namespace).map((o) => this.present(type, structuredClone(o)));
  }

  // --- faults ---

  /**
   * Ends every open watch. Default: cut the sockets (no final chunk). `{ graceful: true }` ends the
   * streams cleanly, as a watch timeout does.
   */
  dropWatches(options: { graceful?: boolean } = {}): number {
    const watches = [...this.ctx.watches];
    for (const w of watches) {
      if (options.graceful) w.end();
      else w.destroy();
    }
    return watches.length;
  }

  /** Makes every resourceVersion up to now too old: older watches get 410, continue tokens expire. */
  compact(): void {
    this.store.compact();
  }

  /** Answers the next `times` (default 1) matching requests with `status` and a Status body. */
  failNext(spec: FailSpec): void {
    this.faults.push({ ...spec, times: spec.times ?? 1 });
  }

  /** 403 Forbidden, with kube-apiserver's RBAC message, for matching requests until allow(). */
  deny(match: RequestMatch): void {
    this.denials.push(match);
  }

  /** Undoes deny() calls with an equal match; with no argument, every one. */
  allow(match?: RequestMatch): void {
    const key = JSON.stringify(match);
    this.denials = match === undefined ? [] : this.denials.filter((d) => JSON.stringify(d) !== key);
  }

  /** Sends a BOOKMARK now on every watch that allows them. */
  bookmark(): void {
    for (const w of this.ctx.watches) w.bookmark();
  }

  // --- observation ---

  get watches(): WatchInfo[] {
    return [...this.ctx.watches].map((w) => ({
      resource: w.spec.type.resource,
      group: w.spec.type.group,
      namespace: w.spec.namespace,
      fromRv: w.spec.fromRv,
      bookmarks: w.spec.bookmarks,
    }));
  }

  /**
   * Resolves with the first truthy value of `check`, evaluated now and after every request and write;
   * rejects after `timeoutMs` (default 5000).
   */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const evaluate = () => {
        let value: T | undefined | null | false;
        try {
          value = check();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (value) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waitFor: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off('request', evaluate);
        this.off('write', evaluate);
      };
      this.on('request', evaluate);
      this.on('write', evaluate);
      evaluate();
    });
  }

  /** Resolves with the first logged request matching (fields equal, or a predicate). */
  waitForRequest(
    match: Partial<RequestRecord> | ((r: RequestRecord) => boolean),
    options: WaitOptions = {},
  ): Promise<RequestRecord> {
    const pred =
      typeof match === 'function'
        ? match
        : (r: RequestRecord) => Object.entries(match).every(([k, v]) => r[k as keyof RequestRecord] === v);
    const from = options.fromIndex ?? 0;
    return this.waitFor(() => this.requests.slice(from).find(pred), options.timeoutMs);
  }

  /** Resolves when a watch on `resource` has been opened (200); see waitForRequest. */
  waitForWatch(resource: string, options: WaitOptions & { namespace?: string } = {}): Promise<RequestRecord> {
    return this.waitForRequest(
      (r) =>
        r.verb === 'watch' &&
        r.resource === resource &&
        r.status === 200 &&
        (options.namespace === undefined || r.namespace === options.namespace),
      options,
    );
  }

  // --- internals ---

  private present(type: ResourceType, obj: KubeObject): KubeObject {
    return { ...obj, apiVersion: groupVersion(type.group, type.versions[0]!), kind: type.kind };
  }

  private typeOfObject(obj: KubeObject): ResourceType {
    const apiVersion = obj.apiVersion ?? '';
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
    const type = this.types.find((t) => t.group === group && t.kind === obj.kind);
    if (!type) throw new Error(`unknown kind ${apiVersion} ${obj.kind}`);
    return type;
  }

  /** `services`, `Service`, `ingresses.networking.k8s.io`, `networking.k8s.io/v1/Ingress`, `v1/Service`. */
  private typeOf(ref: string): ResourceType {
    const type = this.types.find((t) => {
      const gv = t.versions.map((v) => groupVersion(t.group, v));
      return (
        t.resource === ref ||
        t.kind === ref ||
        `${t.resource}.${t.group}` === ref ||
        gv.some((g) => `${g}/${t.kind}` === ref || `${g}/${t.resource}` === ref)
      );
    });
    if (!type) throw new Error(`unknown resource ${ref}`);
    return type;
  }

  private authenticate(req: IncomingMessage): string | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return m ? this.tokens[m[1]!.trim()] : undefined;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.handle(req, res, Buffer.concat(chunks).toString());
      } catch (err) {
        if (!res.headersSent) sendStatus(res, 500, String(err));
      }
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const method = req.method ?? 'GET';
    const route = parseResourcePath(url.pathname);
    const verb = (route && verbOf(method, route, url.searchParams)) ?? method.toLowerCase();
    const q = url.searchParams;
    const record: RequestRecord = {
      method,
      path: url.pathname,
      query: Object.fromEntries(q),
      verb,
      group: route?.group,
      version: route?.version,
      resource: route?.resource,
      subresource: route?.subresource,
      namespace: route?.namespace,
      name: route?.name,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      labelSelector: q.get('labelSelector') ?? undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      user: this.authenticate(req),
      status: 0,
    };
    try {
      this.answer(req, res, record, body);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendStatus(res, err.code, err.message, err.reason, err.details);
    } finally {
      record.status = res.statusCode;
      this.requests.push(record);
      this.emit('request', record);
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse, record: RequestRecord, body: string): void {
    if (record.user === undefined && !publicPaths.has(record.path)) throw new HttpError(401, 'Unauthorized');
    const route = parseResourcePath(record.path);
    if (!route) {
      if (['/healthz', '/livez', '/readyz'].includes(record.path)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      const doc = discovery(this.types, record.path, this.version, `${this.host}:${this.port}`);
      if (!doc || record.method !== 'GET')
        throw new HttpError(404, 'the server could not find the requested resource');
      sendJson(res, 200, doc);
      return;
    }
    const type = findType(this.types, route);
    if (!type) throw new HttpError(404, 'the server could not find the requested resource', 'NotFound');
    if (verbOf(record.method, route, new URLSearchParams(record.query)) === undefined) {
      throw new HttpError(
        405,
        `the server does not allow this method on the requested resource`,
        'MethodNotAllowed',
      );
    }
    const fault = this.faults.find((f) => f.times > 0 && requestMatches(f, record));
    if (fault) {
      fault.times--;
      this.faults = this.faults.filter((f) => f.times > 0);
      throw new HttpError(fault.status, fault.message ?? `injected failure (${fault.status})`);
    }
    if (this.denials.some((d) => requestMatches(d, record))) {
      const message = forbiddenMessage(record.user!, record);
      throw new HttpError(403, message, 'Forbidden', {
        ...(route.name ? { name: route.name } : {}),
        group: type.group,
        kind: route.resource,
      });
    }
    handleResource(
      this.ctx,
      {
        route,
        verb: record.verb as never,
        type,
        query: new URLSearchParams(record.query),
        body,
        contentType: req.headers['content-type'] ?? '',
      },
      res,
    );
  }
}
