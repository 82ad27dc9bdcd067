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
  let inode: string | undefined;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) {
      inode = f[9];
      break;
    }
  }
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** How many listening TCP sockets on `ip:port` the process `pid` holds (its fds, matched by inode). */
export function listeningSocketsOf(pid: number, ip: string, port: number): number {
  const local = procAddress(ip, port);
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') inodes.add(`socket:[${f[9]}]`);
  }
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) held++;
    } catch {
      // closed meanwhile
    }
  }
  return held;
}
