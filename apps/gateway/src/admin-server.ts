// The admin server on --metrics-port: /metrics (Prometheus text), /healthz, /readyz. On node:http:
// three GET routes do not need a framework, and Fastify with what it loads (ajv, avvio, find-my-way,
// pino's serializers: ~150 modules) kept 5-7 MB of RSS in every process serving alone, with its
// 120 MB budget under load (benchmarks/README.md).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface AdminState {
  /** The data plane listens: /healthz answers 200. */
  live(): boolean;
  /** The first configuration is applied (cluster mode: every informer synced): /readyz answers 200. */
  ready(): boolean;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export interface AdminServer {
  readonly server: Server;
  listen(at: { host: string; port: number }): Promise<void>;
  /** Stops listening, closes idle keep-alive connections and waits for the others to finish. */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
// Prometheus scrapes every 15-60 s: a connection kept that long is reused from scrape to scrape.
const KEEP_ALIVE_MS = 72_000;

export function createAdminServer(state: AdminState): AdminServer {
  const server = createServer((req, res) => {
    answer(state, req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) send(req, res, 500, TEXT, `internal error: ${message}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  return {
    server,
    listen: ({ host, port }) =>
      new Promise<void>((resolve, reject) => {
        const failed = (err: Error) => reject(err);
        server.once('error', failed);
        server.listen(port, host, () => {
          server.off('error', failed);
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      }),
  };
}

async function answer(state: AdminState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') {
    send(req, res, 404, TEXT, 'not found: /healthz, /readyz and /metrics are served here\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(req, res, 405, TEXT, `method ${req.method} not allowed: GET or HEAD\n`);
    return;
  }
  if (path === '/healthz') {
    const live = state.live();
    send(req, res, live ? 200 : 503, TEXT, live ? 'ok\n' : 'not serving\n');
  } else if (path === '/readyz') {
    const ready = state.ready();
    send(req, res, ready ? 200 : 503, TEXT, ready ? 'ok\n' : 'no configuration applied yet\n');
  } else {
    const { contentType, body } = await state.metrics();
    send(req, res, 200, contentType, body);
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
