import type { Socket } from 'node:net';

/**
 * Holds a socket's writes until the end of the event-loop turn (libuv's check phase), so the writes
 * of every request handled in one poll go out back to back. On loopback the writer pays for waking
 * the reader; writes that arrive while the reader is already awake wake no one.
 */
const held: Socket[] = [];
let flushScheduled = false;
const kHeld = Symbol('writes held');

type Holdable = Socket & { [kHeld]?: boolean };

export function holdWrites(socket: Socket): void {
  const s = socket as Holdable;
  if (s[kHeld] === true) return;
  s[kHeld] = true;
  socket.cork();
  held.push(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushHeldWrites);
  }
}

/**
 * Lets a held socket's writes go now: before `destroy()`, which drops what a corked socket holds (a
 * response cut short must still deliver the bytes written before the cut).
 */
export function releaseWrites(socket: Socket): void {
  const s = socket as Holdable;
  if (s[kHeld] !== true) return;
  s[kHeld] = false;
  socket.uncork();
}

function flushHeldWrites(): void {
  flushScheduled = false;
  // A socket released early stays in the list without its mark, and is skipped.
  for (let i = 0; i < held.length; i++) releaseWrites(held[i]!);
  held.length = 0;
}
