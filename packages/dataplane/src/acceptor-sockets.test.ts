// A data plane with several listening sockets per port (SO_REUSEPORT) serves as one with a single one.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backends,
  backend,
  config,
  type Gateway,
  request,
  startBackends,
  startGateway,
} from './harness.test-support.js';

const SOCKETS = 8;

/** One TLS connection: whether its session was resumed, and the session the server gave it. */
function tlsExchange(
  port: number,
  session?: Buffer,
): Promise<{ reused: boolean; session: Buffer | undefined; reply: string }> {
  return new Promise((resolve, reject) => {
    let given: Buffer | undefined;
    let reply = '';
    let reused = false;
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, session },
      () => {
        reused = socket.isSessionReused();
        socket.write('GET / HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n');
      },
    );
    socket.setEncoding('utf8');
    socket.on('session', (s: Buffer) => (given = s));
    socket.on('data', (chunk) => (reply += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reused, session: given, reply }));
  });
}

describe(`a data plane listening with ${SOCKETS} sockets per port`, () => {
  let backends: Backends;
  let gw: Gateway;

  beforeAll(async () => {
    backends = await startBackends(['127.0.3.61'], (_req, res) => res.end('pod'));
    const b = backend('web', [{ address: '127.0.3.61', port: backends.port }]);
    gw = await startGateway(config([{ host: '', path: '/', backend: b }]), { acceptors: SOCKETS });
  });

  afterAll(async () => {
    await gw.close();
    await backends.close();
  });

  it('serves 100 connections opened at once, each counted once', async () => {
    const before = gw.connections.open;
    const replies = await Promise.all(Array.from({ length: 100 }, () => request(gw.http)));
    expect(replies.map((r) => `${r.status} ${r.body}`)).toEqual(Array(100).fill('200 pod'));
    expect(gw.connections.open - before).toBe(100);
  });

  it('resumes a TLS session on whichever socket the next connection lands on', async () => {
    const first = await tlsExchange(gw.https);
    expect(first.reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(first.session).toBeDefined();
    // 24 connections from new source ports land on several of the 8 sockets; each resumes only if
    // every socket decrypts the ticket another one issued.
    const next = await Promise.all(Array.from({ length: 24 }, () => tlsExchange(gw.https, first.session)));
    expect(next.map((n) => n.reused)).toEqual(Array(24).fill(true));
    expect(next.every((n) => n.reply.startsWith('HTTP/1.1 200 '))).toBe(true);
  });

  it('stops listening on every socket when closed', async () => {
    const other = await startGateway(undefined, { acceptors: SOCKETS });
    const port = other.http;
    await other.close();
    await expect(request(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
