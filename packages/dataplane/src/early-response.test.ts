// A backend that answers before it has read the request body (a 413, a redirect, an early 200): the
// rest of the body is discarded, as nginx does, so the client's keep-alive connection serves its next
// request at once; the upstream connection, which holds half a request, is never reused.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { backend, config, defer, trackedGateway as gateway, runDeferred } from './harness.test-support.js';

afterEach(runDeferred);

it('a body the backend did not wait for is discarded; the next request on the connection is served', async () => {
  let requests = 0;
  const early = http.createServer((req, res) => {
    requests++;
    // Answers without reading: the gateway is left holding the unsent part of a 1 MiB body.
    res.end(`answer ${requests} to ${req.method}`);
  });
  early.listen(0, '127.0.3.90');
  await new Promise((r) => early.once('listening', r));
  defer(() => new Promise<void>((r) => early.close(() => r())));
  early.on('connection', (s) =>
    defer(() => {
      s.destroy();
    }),
  );
  const port = (early.address() as net.AddressInfo).port;
  const gw = await gateway(
    config([{ host: '', path: '/', backend: backend('early', [{ address: '127.0.3.90', port }]) }]),
  );

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  defer(async () => agent.destroy());
  const send = (method: string, body?: Buffer) =>
    new Promise<{ status: number; body: string; socket: net.Socket }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.http, method, path: '/', agent }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: text, socket: res.socket as net.Socket }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  const first = await send('POST', Buffer.alloc(1024 * 1024, 0x61));
  expect(first).toMatchObject({ status: 200, body: 'answer 1 to POST' });
  const started = Date.now();
  const second = await send('GET');
  expect(second).toMatchObject({ status: 200, body: 'answer 2 to GET' });
  // The same client connection served both (nothing was closed to get out of the stall).
  expect(second.socket).toBe(first.socket);
  // Not the seconds a stalled connection would take; bounded loosely for a loaded machine.
  expect(Date.now() - started).toBeLessThan(2000);
});
