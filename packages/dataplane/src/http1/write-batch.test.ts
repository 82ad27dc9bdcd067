// Writes held to the end of the event-loop turn, on real loopback sockets.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { holdWrites, releaseWrites } from './write-batch.js';

const open: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair: `ours` writes, `peer` collects what arrives. */
async function pair(): Promise<{ ours: net.Socket; peer: net.Socket; received: () => string }> {
  const server = net.createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const ours = net.connect(port, '127.0.0.1');
  open.push(ours);
  await once(ours, 'connect');
  const [peer] = await accepted;
  open.push(peer);
  let text = '';
  peer.setEncoding('latin1');
  peer.on('data', (d: string) => {
    text += d;
  });
  return { ours, peer, received: () => text };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('holdWrites', () => {
  it('keeps the writes of one turn in the socket until the turn ends, then sends them in order', async () => {
    const { ours, peer, received } = await pair();
    holdWrites(ours);
    ours.write('one ', 'latin1');
    holdWrites(ours); // a second hold in the same turn changes nothing
    ours.write(Buffer.from('two '));
    ours.write('three', 'latin1');
    expect(ours.writableLength).toBe(13);
    await nextTurn();
    expect(ours.writableLength).toBe(0);
    while (received().length < 13) await once(peer, 'data');
    expect(received()).toBe('one two three');
  });

  it('holds many sockets at once and lets each go', async () => {
    const pairs = await Promise.all([pair(), pair(), pair()]);
    pairs.forEach(({ ours }, i) => {
      holdWrites(ours);
      ours.write(`socket ${i}`, 'latin1');
    });
    expect(pairs.map(({ ours }) => ours.writableLength)).toEqual([8, 8, 8]);
    await nextTurn();
    expect(pairs.map(({ ours }) => ours.writableLength)).toEqual([0, 0, 0]);
    for (const [i, { peer, received }] of pairs.entries()) {
      while (received().length < 8) await once(peer, 'data');
      expect(received()).toBe(`socket ${i}`);
    }
  });

  it('releaseWrites sends what is held at once, so a destroy right after loses nothing written', async () => {
    const { ours, peer, received } = await pair();
    holdWrites(ours);
    ours.write('the part before the cut', 'latin1');
    releaseWrites(ours);
    expect(ours.writableLength).toBe(0);
    ours.destroy();
    await once(peer, 'close');
    expect(received()).toBe('the part before the cut');
  });

  it('a socket ended while held still sends everything, and the flush after it is harmless', async () => {
    const { ours, peer, received } = await pair();
    const ended = once(peer, 'end');
    holdWrites(ours);
    ours.write('last words', 'latin1');
    ours.end();
    await nextTurn();
    await ended;
    expect(received()).toBe('last words');
  });

  it('a socket held again in a later turn is held again', async () => {
    const { ours, peer, received } = await pair();
    holdWrites(ours);
    ours.write('a', 'latin1');
    await nextTurn();
    holdWrites(ours);
    ours.write('b', 'latin1');
    expect(ours.writableLength).toBe(1);
    await nextTurn();
    expect(ours.writableLength).toBe(0);
    while (received().length < 2) await once(peer, 'data');
    expect(received()).toBe('ab');
  });
});
