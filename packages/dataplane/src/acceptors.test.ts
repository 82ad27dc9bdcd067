import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AcceptorGroup } from './acceptors.js';

const HOST = '127.0.0.1';
const opened: { close(): Promise<void> | void }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** A group of plain servers that count the connections each accepts and close them at once. */
function countingGroup(
  count: number,
  siblings = false,
): { group: AcceptorGroup<net.Server>; accepted: number[] } {
  const accepted: number[] = [];
  let index = 0;
  const group = new AcceptorGroup(
    () => {
      const mine = index++;
      accepted[mine] = 0;
      return net.createServer((socket) => {
        accepted[mine]!++;
        socket.end('ok');
      });
    },
    { count, siblings },
  );
  opened.push(group);
  return { group, accepted };
}

function fetchOk(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect({ host: HOST, port }, () => socket.end());
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

async function holder(options: net.ListenOptions): Promise<number> {
  const server = net.createServer();
  opened.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  server.listen({ host: HOST, port: 0, ...options });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

describe('AcceptorGroup', () => {
  it('listens with every socket on one free port and spreads connections over them', async () => {
    const { group, accepted } = countingGroup(4);
    const port = await group.listen(HOST, 0);
    expect(port).toBeGreaterThan(0);
    for (const server of group.servers) {
      expect((server.address() as net.AddressInfo).port).toBe(port);
    }
    const replies = await Promise.all(Array.from({ length: 100 }, () => fetchOk(port)));
    expect(replies.every((r) => r === 'ok')).toBe(true);
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(100);
    // The kernel hashes each connection's source port to a socket: 100 on one of 4 is 4^-99 likely.
    expect(accepted.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('listens on a fixed free port with every socket', async () => {
    const free = await holder({});
    await opened.pop()!.close();
    const { group } = countingGroup(3);
    expect(await group.listen(HOST, free)).toBe(free);
    expect(await fetchOk(free)).toBe('ok');
  });

  it('a single-socket group is one plain listener', async () => {
    const { group } = countingGroup(1);
    const port = await group.listen(HOST, 0);
    expect(group.servers).toHaveLength(1);
    expect(group.primary).toBe(group.servers[0]);
    expect(await fetchOk(port)).toBe('ok');
  });

  it('fails with EADDRINUSE on a port another socket holds', async () => {
    const taken = await holder({});
    const { group } = countingGroup(4);
    await expect(group.listen(HOST, taken)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(group.servers.some((s) => s.listening)).toBe(false);
  });

  it('fails with EADDRINUSE even when the holder allows SO_REUSEPORT: two gateways never share a port', async () => {
    const taken = await holder({ reusePort: true });
    const { group } = countingGroup(4);
    await expect(group.listen(HOST, taken)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(group.servers.some((s) => s.listening)).toBe(false);
  });

  it("siblings (two workers' groups): one socket allows SO_REUSEPORT, the other group joins its port, both accept", async () => {
    const first = countingGroup(1, true);
    const port = await first.group.listen(HOST, 0);
    const second = countingGroup(2, true);
    // Joining binds at once: a probe would meet the first group's socket.
    expect(await second.group.listen(HOST, port, true)).toBe(port);
    const replies = await Promise.all(Array.from({ length: 100 }, () => fetchOk(port)));
    expect(replies.every((r) => r === 'ok')).toBe(true);
    const [one, two] = [first.accepted, second.accepted].map((a) => a.reduce((x, y) => x + y, 0));
    expect(one! + two!).toBe(100);
    // Over three sockets, 100 connections all on one group are (1/3)^100 + (2/3)^100 likely.
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
  });

  it('siblings: the first group still refuses a port another program holds with SO_REUSEPORT', async () => {
    const taken = await holder({ reusePort: true });
    const { group } = countingGroup(1, true);
    await expect(group.listen(HOST, taken)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(group.primary.listening).toBe(false);
  });

  it('a group of one socket without siblings refuses to be joined', async () => {
    const { group } = countingGroup(1);
    const port = await group.listen(HOST, 0);
    await expect(countingGroup(1, true).group.listen(HOST, port, true)).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('close stops every socket', async () => {
    const { group } = countingGroup(4);
    const port = await group.listen(HOST, 0);
    await group.close();
    expect(group.servers.some((s) => s.listening)).toBe(false);
    await expect(fetchOk(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await group.close();
  });
});
