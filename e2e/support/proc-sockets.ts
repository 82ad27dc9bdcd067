// Which process holds the server side of a TCP connection, read from /proc (Linux): how a test sees
// which worker of the gateway accepted a connection without asking the gateway.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `127.0.0.1:8080` as /proc/net/tcp writes it: `0100007F:1F90`. */
function procAddress(ip: string, port: number): string {
  const hex = ip
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The rows of /proc/net/tcp as fields: [1] local address, [2] remote, [3] state, [9] inode. */
function tcpRows(): string[][] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/));
}

/** The `socket:[INODE]` links among the open file descriptors of `pid` (none once it is gone). */
function socketLinksOf(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const links: string[] = [];
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) links.push(link);
    } catch {
      // closed meanwhile
    }
  }
  return links;
}

/**
 * The pid among `pids` holding the socket whose local end is `server` and remote end `client` (the
 * gateway's accepted side of a connection the test opened), or undefined when none holds it.
 */
export function pidOfConnection(
  pids: readonly number[],
  server: { ip: string; port: number },
  client: { ip: string; port: number },
): number | undefined {
  const local = procAddress(server.ip, server.port);
  const remote = procAddress(client.ip, client.port);
  const row = tcpRows().find((f) => f[1] === local && f[2] === remote);
  if (row === undefined) return undefined;
  const target = `socket:[${row[9]}]`;
  return pids.find((pid) => socketLinksOf(pid).includes(target));
}

/** How many listening TCP sockets on `ip:port` the process `pid` holds (its fds, matched by inode). */
export function listeningSocketsOf(pid: number, ip: string, port: number): number {
  const local = procAddress(ip, port);
  const listening = new Set(
    tcpRows()
      .filter((f) => f[1] === local && f[3] === '0A')
      .map((f) => `socket:[${f[9]}]`),
  );
  return socketLinksOf(pid).filter((link) => listening.has(link)).length;
}
