// The admin server on --metrics-port: /metrics (Prometheus text), /healthz, /readyz.
import Fastify, { type FastifyInstance } from 'fastify';

export interface AdminState {
  /** The data plane listens: /healthz answers 200. */
  live(): boolean;
  /** The first configuration is applied (cluster mode: every informer synced): /readyz answers 200. */
  ready(): boolean;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export function createAdminServer(state: AdminState): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_req, reply) => {
    reply.code(state.live() ? 200 : 503).type('text/plain');
    return state.live() ? 'ok\n' : 'not serving\n';
  });
  app.get('/readyz', async (_req, reply) => {
    reply.code(state.ready() ? 200 : 503).type('text/plain');
    return state.ready() ? 'ok\n' : 'no configuration applied yet\n';
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await state.metrics();
    reply.type(contentType);
    return body;
  });
  return app;
}
