// Real-socket helpers for the http1 tests: servers on loopback, port 0, and raw clients that wait on
// events (never on sleeps).
import { once } from 'node:events';
import net from 'node:net';

export async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

export async function closeServer(server: net.Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A raw client: everything the server sends is kept in `text` (latin1). */
export class RawClient {
  readonly socket: net.Socket;
  data = Buffer.alloc(0);
  closed = false;
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.check();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.check();
    });
  }

  get text(): string {
    return this.data.toString('latin1');
  }

  async connected(): Promise<void> {
    if (this.socket.readyState !== 'open') await once(this.socket, 'connect');
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves once `test` holds (checked on every chunk and on close); rejects if closed first. */
  until(test: (text: string) => boolean, what = 'condition'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        test: () => {
          if (test(this.text)) {
            resolve();
            return true;
          }
          if (this.closed) {
            reject(new Error(`closed before ${what}; got: ${JSON.stringify(this.text)}`));
            return true;
          }
          return false;
        },
        resolve,
      };
      if (!entry.test()) this.waiters.push(entry);
    });
  }

  /** Waits until the server closed the connection. */
  async ended(): Promise<string> {
    if (!this.closed) await once(this.socket, 'close');
    return this.text;
  }

  count(needle: string): number {
    return this.text.split(needle).length - 1;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => !w.test());
  }
}

/** Polls a condition the test cannot wait on as an event (state inside a handler). */
export async function waitFor(test: () => boolean, timeoutMs = 4000): Promise<void> {
  const started = Date.now();
  while (!test()) {
    if (Date.now() - started > timeoutMs) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
