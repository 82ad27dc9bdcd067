// Several listening sockets on one port, so one process accepts several connections per event-loop turn.
//
// libuv (since 1.45, Node 20.?/22/24) accepts one connection per readiness event of a listening socket
// (libuv #3696), so a busy process accepts one connection per turn of its loop: under load a turn takes
// milliseconds, and 256 connections opened at once (wrk reconnecting after keepalive_requests) waited
// up to 700 ms in the accept queue while the loop served the others. With SO_REUSEPORT the kernel spreads
// new connections over `count` sockets of this process, and each ready one gives one per turn.
//
// `--workers N --reuse-port` binds the same way in every worker (`siblings`): each worker's sockets are its own
// (node:cluster's `exclusive`), in one SO_REUSEPORT group with its siblings', so the kernel spreads
// connections over the workers and no process hands them on (node:cluster's round robin cost the primary
// about a quarter of a core at a connection per request; see benchmarks/README.md).
import net, { type AddressInfo } from 'node:net';

/** The group's servers are made by the caller (net or tls, with its handlers attached). */
export type ServerFactory<S extends net.Server> = () => S;

export interface AcceptorOptions {
  /** Listening sockets per port in this process. */
  readonly count: number;
  /**
   * Sibling processes (node:cluster workers) bind the same port with SO_REUSEPORT: every socket here is
   * this process's own, even in a worker, and allows SO_REUSEPORT even when it is the only one here.
   */
  readonly siblings?: boolean;
}

export class AcceptorGroup<S extends net.Server> {
  readonly servers: S[];
  private readonly siblings: boolean;

  constructor(factory: ServerFactory<S>, opts: AcceptorOptions) {
    const n = Math.max(1, Math.floor(opts.count));
    this.servers = Array.from({ length: n }, factory);
    this.siblings = opts.siblings ?? false;
  }

  /** The first server (the one a single-socket group has). */
  get primary(): S {
    return this.servers[0]!;
  }

  /**
   * Listens on `host:port` (0: a free port) with every server; resolves with the port. A port another
   * socket holds fails with EADDRINUSE as one socket would, even one held with SO_REUSEPORT: a fixed
   * port is first bound alone, without it, and released, so two gateways never silently share a port.
   * `join`: the port is a sibling's (it probed it): bound at once, with SO_REUSEPORT.
   */
  async listen(host: string, port: number, join = false): Promise<number> {
    if (this.servers.length === 1 && !this.siblings) return listenOn(this.primary, { host, port });
    if (port !== 0 && !join) await probeExclusive(host, port);
    const own = this.siblings ? { exclusive: true } : {};
    const first = await listenOn(this.primary, { host, port, reusePort: true, ...own });
    try {
      for (let i = 1; i < this.servers.length; i++) {
        await listenOn(this.servers[i]!, { host, port: first, reusePort: true, ...own });
      }
    } catch (e) {
      await this.close();
      throw e;
    }
    return first;
  }

  /** Stops accepting on every socket; resolves when all are closed. */
  close(): Promise<void> {
    return Promise.all(this.servers.map(closeServer)).then(noop);
  }
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...options, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function probeExclusive(host: string, port: number): Promise<void> {
  const probe = net.createServer();
  // Bound here even in a node:cluster worker: through the primary, its handle would outlive the probe's
  // close for a moment, without SO_REUSEPORT, and the group's own bind would meet it.
  await listenOn(probe, { host, port, exclusive: true });
  await closeServer(probe);
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/** ingress-nginx's `backlog` (net.core.somaxconn); the kernel caps it at the sysctl. Node's default is 511. */
const LISTEN_BACKLOG = 4096;

function noop(): void {}
