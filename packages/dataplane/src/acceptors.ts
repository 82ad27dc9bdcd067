// Several listening sockets on one port, so one process accepts several connections per event-loop turn.
//
// libuv (since 1.45, Node 20.?/22/24) accepts one connection per readiness event of a listening socket
// (libuv #3696), so a busy process accepts one connection per turn of its loop: under load a turn takes
// milliseconds, and 256 connections opened at once (wrk reconnecting after keepalive_requests) waited
// up to 700 ms in the accept queue while the loop served the others. With SO_REUSEPORT the kernel spreads
// new connections over `count` sockets of this process, and each ready one gives one per turn.
import net, { type AddressInfo } from 'node:net';

/** The group's servers are made by the caller (net or tls, with its handlers attached). */
export type ServerFactory<S extends net.Server> = () => S;

export class AcceptorGroup<S extends net.Server> {
  readonly servers: S[];

  constructor(factory: ServerFactory<S>, count: number) {
    const n = Math.max(1, Math.floor(count));
    this.servers = Array.from({ length: n }, factory);
  }

  /** The first server (the one a single-socket group has). */
  get primary(): S {
    return this.servers[0]!;
  }

  /**
   * Listens on `host:port` (0: a free port) with every server; resolves with the port. A port another
   * socket holds fails with EADDRINUSE as one socket would, even one held with SO_REUSEPORT: a fixed
   * port is first bound alone, without it, and released, so two gateways never silently share a port.
   */
  async listen(host: string, port: number): Promise<number> {
    if (this.servers.length === 1) return listenOn(this.primary, { host, port });
    if (port !== 0) await probeExclusive(host, port);
    const first = await listenOn(this.primary, { host, port, reusePort: true });
    try {
      for (let i = 1; i < this.servers.length; i++) {
        await listenOn(this.servers[i]!, { host, port: first, reusePort: true });
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
  await listenOn(probe, { host, port });
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
