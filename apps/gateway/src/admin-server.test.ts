// The admin server on a real socket: what Prometheus and kubelet probes get from each path.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, createAdminServer } from './admin-server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchAt(port: number, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function started(state: { live: boolean; ready: boolean; metrics?: () => Promise<never> }) {
  const admin = createAdminServer({
    live: () => state.live,
    ready: () => state.ready,
    metrics:
      state.metrics ??
      (async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' })),
  });
  servers.push(admin);
  await admin.listen({ host: '127.0.0.1', port: 0 });
  return (admin.server.address() as AddressInfo).port;
}

describe('admin server', () => {
  it('answers /healthz and /readyz from the state at each request', async () => {
    const state = { live: false, ready: false };
    const port = await started(state);
    expect(await fetchAt(port, 'GET', '/healthz')).toMatchObject({ status: 503, body: 'not serving\n' });
    expect(await fetchAt(port, 'GET', '/readyz')).toMatchObject({
      status: 503,
      body: 'no configuration applied yet\n',
    });
    state.live = true;
    state.ready = true;
    const health = await fetchAt(port, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: 'ok\n' });
    expect(health.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(await fetchAt(port, 'GET', '/readyz?verbose')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('serves /metrics with the registry content type, and HEAD with the length and no body', async () => {
    const port = await started({ live: true, ready: true });
    const metrics = await fetchAt(port, 'GET', '/metrics');
    expect(metrics).toMatchObject({ status: 200, body: 'up 1\n' });
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const head = await fetchAt(port, 'HEAD', '/metrics');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('5');
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const port = await started({ live: true, ready: true });
    expect((await fetchAt(port, 'GET', '/')).status).toBe(404);
    expect((await fetchAt(port, 'GET', '/metrics/x')).status).toBe(404);
    const post = await fetchAt(port, 'POST', '/metrics');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('answers 500 naming the cause when the metrics cannot be rendered', async () => {
    const port = await started({
      live: true,
      ready: true,
      metrics: async () => {
        throw new Error('a worker did not answer');
      },
    });
    expect(await fetchAt(port, 'GET', '/metrics')).toMatchObject({
      status: 500,
      body: 'internal error: a worker did not answer\n',
    });
  });

  it('fails to listen on a port in use, and closes when never started', async () => {
    const port = await started({ live: true, ready: true });
    const second = createAdminServer({
      live: () => true,
      ready: () => true,
      metrics: async () => ({ contentType: 'x', body: '' }),
    });
    await expect(second.listen({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await second.close();
  });
});
