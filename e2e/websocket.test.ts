// Black-box: WebSocket upgrades on the HTTP port, balanced over the pods.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startPods } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';
import { echo, openSocket } from './support/ws-client.js';

let gw: GatewayProcess;
let pods: Awaited<ReturnType<typeof startPods>>;

beforeAll(async () => {
  pods = await startPods('chat', ['127.0.6.1', '127.0.6.2']);
  const { file } = await tempConfig([
    service('rt', 'chat'),
    slice(
      'rt',
      'chat',
      pods.port,
      pods.pods.map((p) => p.ip),
    ),
    ingress('rt', 'chat', [{ host: 'chat.example.test', service: 'chat' }]),
  ]);
  gw = await startGateway(['--config', file]);
});

afterAll(async () => {
  await gw?.stop();
  await pods?.close();
});

it('tunnels WebSockets and balances them over the pods', async () => {
  const a = await openSocket(gw.http, 'chat.example.test');
  const b = await openSocket(gw.http, 'chat.example.test');
  const ra = await echo(a, 'one');
  const rb = await echo(b, 'two');
  expect(ra).toMatch(/^chat-\d:one$/);
  expect(rb).toMatch(/^chat-\d:two$/);
  expect(ra.split(':')[0]).not.toBe(rb.split(':')[0]);
  a.close();
  b.close();
});

it('refuses an upgrade for an unknown host with 404', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.http}/ws`, { headers: { host: 'nope.test' } });
  const status = await new Promise<number>((resolve) =>
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)),
  );
  expect(status).toBe(404);
});

it('routes an absolute-form upgrade by its authority, as a plain request', async () => {
  const socket = net.connect(gw.http, '127.0.0.1');
  socket.write(
    'GET http://chat.example.test/ws HTTP/1.1\r\nHost: nope.test\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const [head] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  expect(head.toString()).toMatch(/^HTTP\/1\.1 101 /);
  const line = await gw.waitForLog(
    (l) => l.status === 101 && l.host === 'chat.example.test' && l.path === '/ws',
  );
  expect(line.service).toBe('chat');
});
