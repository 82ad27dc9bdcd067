// Fake pods: each a real HTTP (and WebSocket) server on its own loopback address, answering with what it
// received so tests can see which pod served them and what the gateway forwarded.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Pod {
  name: string;
  ip: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export interface EchoBody {
  pod: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** `/stream?chunks=N&intervalMs=M` streams N chunks; `/ws` is a WebSocket echo that prefixes the pod name. */
export async function startPod(name: string, ip: string, port = 0): Promise<Pod> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/stream')) {
      const chunks = Number(url.searchParams.get('chunks') ?? 10);
      const interval = Number(url.searchParams.get('intervalMs') ?? 50);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(chunks * 1024) });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(1024, 97));
        if (++sent === chunks) {
          clearInterval(timer);
          res.end();
        }
      }, interval);
      res.on('close', () => clearInterval(timer));
      return;
    }
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        pod: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
      } satisfies EchoBody);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(`${name}:${data.toString()}`));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, ip);
  await once(server, 'listening');
  return {
    name,
    ip,
    port: (server.address() as AddressInfo).port,
    server,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Pods of one Service: each on its own loopback address, all on the same port, as in a cluster. */
export async function startPods(
  app: string,
  ips: string[],
): Promise<{ pods: Pod[]; port: number; close(): Promise<void> }> {
  const first = await startPod(`${app}-0`, ips[0]!);
  const rest = await Promise.all(ips.slice(1).map((ip, i) => startPod(`${app}-${i + 1}`, ip, first.port)));
  const pods = [first, ...rest];
  return {
    pods,
    port: first.port,
    close: () => Promise.all(pods.map((p) => p.close())).then(() => undefined),
  };
}
