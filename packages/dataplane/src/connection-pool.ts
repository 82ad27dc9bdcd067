// Keep-alive connections to upstream endpoints, one pool per `address:port`. A request first holds a
// connected socket (idle one or new one), then sends: a connection that cannot be established is
// reported before any byte of the request body is read, so it can be retried on another endpoint.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction, Socket } from 'node:net';

/** Who owns a socket while it serves a request: gets its idle timeouts. */
export interface SocketOwner {
  onSocketTimeout(socket: Socket): void;
}

export const kPool = Symbol('gateway.pool');
export const kOwner = Symbol('gateway.owner');
const kIdle = Symbol('gateway.idle');

interface PooledSocket extends Socket {
  [kPool]?: EndpointPool | undefined;
  [kOwner]?: SocketOwner | undefined;
  [kIdle]?: boolean;
}

export type ConnectErrorKind = 'connect' | 'connect-timeout';

/** Gets the outcome of `acquire`; an interface rather than a callback so the hot path makes no closure. */
export interface AcquireHandler {
  acquired(err: ConnectErrorKind | undefined, socket: Socket | undefined, reused: boolean): void;
}

export interface PoolOptions {
  readonly connectTimeoutMs: number;
  /** Idle keep-alive connections are closed after this (nginx upstream keepalive_timeout: 60 s). */
  readonly idleTimeoutMs: number;
  /** Idle connections kept per endpoint (more are closed when released). */
  readonly maxIdlePerEndpoint: number;
  readonly refuseLocalExternalNames: boolean;
}

function onSocketClose(this: PooledSocket): void {
  this[kPool]?.forget(this);
}

function onSocketError(this: PooledSocket): void {
  // The request using the socket reports the error; an idle socket just goes away (close follows).
}

function onSocketData(this: PooledSocket): void {
  // Bytes on an idle connection: the backend is confused or closing; never hand it out.
  if (this[kIdle]) this.destroy();
}

function onSocketTimeout(this: PooledSocket): void {
  if (this[kIdle]) {
    this.destroy();
    return;
  }
  this[kOwner]?.onSocketTimeout(this);
}

function onSocketFree(this: PooledSocket): void {
  this[kPool]?.release(this);
}

function onAgentRemove(this: PooledSocket): void {
  // Upgraded (WebSocket): the socket leaves the pool for good.
  this[kPool]?.forget(this);
}

/** ExternalName lookups that refuse loopback and link-local answers (CVE-2021-25740). */
const refusingLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return (callback as (e: Error | null, a: string, f: number) => void)(err, '', 0);
    const ok = addresses.filter((a) => !isLocalAddress(a.address));
    if (ok.length === 0) {
      const e = Object.assign(new Error(`${hostname} resolves to a local address`), {
        code: 'EREFUSEDLOCAL',
      });
      return (callback as (e: Error | null, a: string, f: number) => void)(e, '', 0);
    }
    if ((options as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, ok);
    else (callback as (e: null, a: string, f: number) => void)(null, ok[0]!.address, ok[0]!.family);
  });
};

export function isLocalAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (a.startsWith('127.') || a.startsWith('169.254.') || a === '0.0.0.0') return true;
  if (a === '::1' || a === '::' || a.startsWith('fe80:')) return true;
  if (a.startsWith('::ffff:')) return isLocalAddress(a.slice(7));
  return false;
}

export class EndpointPool {
  readonly key: string;
  private readonly idle: PooledSocket[] = [];
  /** Sockets of this pool (connecting, busy or idle) not closed or upgraded: the pool lives while > 0. */
  private total = 0;

  constructor(
    private readonly pools: ConnectionPools,
    readonly host: string,
    readonly port: number,
    private readonly external: boolean,
  ) {
    this.key = `${host}:${port}`;
    this.target = { protocol: 'http:', host, hostname: host, port };
  }

  /** The target object http clients take (built once per pool). */
  readonly target: { protocol: 'http:'; host: string; hostname: string; port: number };

  /** Calls back with a connected socket: an idle one when `fresh` is false and one is usable, else new. */
  acquire(fresh: boolean, cb: AcquireHandler): void {
    if (!fresh) {
      const idle = this.idle;
      while (idle.length > 0) {
        const s = idle.pop()!;
        if (s.destroyed || !s.writable || s.readableEnded) {
          s.destroy();
          continue;
        }
        s[kIdle] = false;
        s.setTimeout(0);
        s.ref();
        cb.acquired(undefined, s, true);
        return;
      }
    }
    this.connect(cb);
  }

  private connect(cb: AcquireHandler): void {
    const opts = this.pools.options;
    const socket: PooledSocket = new Socket();
    let settled = false;
    this.total++;
    const timer = setTimeout(() => {
      finish('connect-timeout');
      socket.destroy();
    }, opts.connectTimeoutMs);
    const finish = (err: ConnectErrorKind | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err === undefined) {
        socket[kPool] = this;
        socket[kIdle] = false;
        socket.on('close', onSocketClose);
        socket.on('error', onSocketError);
        socket.on('data', onSocketData);
        socket.on('timeout', onSocketTimeout);
        socket.on('free', onSocketFree);
        socket.on('agentRemove', onAgentRemove);
        cb.acquired(undefined, socket, false);
      } else {
        if (--this.total === 0) this.pools.drop(this);
        cb.acquired(err, undefined, false);
      }
    };
    const onConnect = () => finish(undefined);
    const onError = () => finish('connect');
    const onClose = () => finish('connect');
    socket.once('connect', onConnect);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.setNoDelay(true);
    const lookup = this.external && opts.refuseLocalExternalNames ? refusingLookup : undefined;
    if (lookup !== undefined && isIP(this.host) !== 0 && isLocalAddress(this.host)) {
      process.nextTick(() => {
        finish('connect');
        socket.destroy();
      });
      return;
    }
    socket.connect(
      lookup === undefined
        ? { host: this.host, port: this.port }
        : { host: this.host, port: this.port, lookup },
    );
  }

  /** A request is done with a healthy keep-alive socket (Node emitted `free`). */
  release(socket: PooledSocket): void {
    socket[kOwner] = undefined;
    if (
      socket.destroyed ||
      !socket.writable ||
      this.pools.closed ||
      this.idle.length >= this.pools.options.maxIdlePerEndpoint
    ) {
      socket.destroy();
      return;
    }
    socket[kIdle] = true;
    socket.setTimeout(this.pools.options.idleTimeoutMs);
    socket.unref();
    this.idle.push(socket);
  }

  /** The socket closed (or was upgraded): it is no longer the pool's. */
  forget(socket: PooledSocket): void {
    if (socket[kPool] !== this) return;
    socket[kPool] = undefined;
    socket[kIdle] = false;
    socket.removeListener('data', onSocketData);
    socket.removeListener('free', onSocketFree);
    const i = this.idle.indexOf(socket);
    if (i >= 0) this.idle.splice(i, 1);
    if (--this.total === 0) this.pools.drop(this);
  }

  destroyIdle(): void {
    for (const s of this.idle.splice(0)) s.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }
}

/** All pools, keyed by `address:port`; a pool goes away with its last socket, so the map tracks live endpoints. */
export class ConnectionPools {
  private readonly pools = new Map<string, EndpointPool>();
  closed = false;

  constructor(readonly options: PoolOptions) {}

  get(address: string, port: number, external: boolean): EndpointPool {
    const key = `${address}:${port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new EndpointPool(this, address, port, external);
      this.pools.set(key, pool);
    }
    return pool;
  }

  drop(pool: EndpointPool): void {
    if (this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
  }

  /** Closes idle connections; busy ones close when their request ends. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.destroyIdle();
  }

  get size(): number {
    return this.pools.size;
  }
}
