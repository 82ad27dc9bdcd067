// Black-box: ingress-nginx annotations the gateway does not implement are never silently ignored. An
// access restriction fails closed (503, or served without it only when the operator says so), a canary
// never takes the main route's traffic, and --check names what it leaves out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPods } from './support/backends.js';
import { type GatewayProcess, runCli, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig } from './support/manifests.js';

const NGINX = 'nginx.ingress.kubernetes.io';

function withAnnotations(obj: object, annotations: Record<string, string>): object {
  const o = obj as { metadata: Record<string, unknown> };
  return { ...o, metadata: { ...o.metadata, annotations } };
}

let pods: Awaited<ReturnType<typeof startPods>>;
let file: string;

beforeAll(async () => {
  pods = await startPods('web', ['127.0.11.1']);
  ({ file } = await tempConfig([
    service('app', 'web'),
    slice('app', 'web', pods.port, ['127.0.11.1']),
    withAnnotations(ingress('app', 'private', [{ host: 'private.test', service: 'web' }]), {
      [`${NGINX}/auth-type`]: 'basic',
      [`${NGINX}/auth-secret`]: 'basic-auth',
    }),
    // File order puts the canary first: it must not take the main route's traffic.
    withAnnotations(ingress('app', 'canary', [{ host: 'public.test', path: '/', service: 'none' }]), {
      [`${NGINX}/canary`]: 'True',
      [`${NGINX}/canary-weight`]: '50',
    }),
    withAnnotations(ingress('app', 'public', [{ host: 'public.test', service: 'web' }]), {
      [`${NGINX}/proxy-body-size`]: '8m',
    }),
  ]));
});

afterAll(() => pods.close());

describe('annotations', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGateway(['--config', file]);
  });
  afterAll(() => gw.stop());

  it('an Ingress with basic auth is not served without it: 503, never the backend', async () => {
    const res = await request(gw.http, { host: 'private.test' });
    expect(res.status).toBe(503);
  });

  it('a canary that comes first in the file does not take the main route', async () => {
    const res = await request(gw.http, { host: 'public.test' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).pod).toBe('web-0');
  });

  it('each not-honoured annotation is logged and counted by name', async () => {
    await gw.waitForLog((l) => String(l.msg).includes(`${NGINX}/proxy-body-size`));
    const metrics = await request(gw.metrics, { path: '/metrics' });
    expect(metrics.body).toMatch(/ingress_gateway_unhonoured_annotations\{annotation="proxy-body-size"\} 1/);
    expect(metrics.body).toMatch(/ingress_gateway_unhonoured_annotations\{annotation="auth-type"\} 1/);
  });
});

describe('--serve-unhonoured-access-annotations', () => {
  it('serves the Ingress without the restriction, and says so', async () => {
    const gw = await startGateway(['--config', file, '--serve-unhonoured-access-annotations']);
    try {
      const res = await request(gw.http, { host: 'private.test' });
      expect(res.status).toBe(200);
      await gw.waitForLog((l) => String(l.msg).includes('WITHOUT the restriction'));
    } finally {
      await gw.stop();
    }
  });
});

describe('--check', () => {
  it('lists the Ingresses it leaves out, and why', async () => {
    const { code, stdout } = await runCli(['--config', file, '--check']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Ingress app\/private: not served: access restrictions not implemented/);
    expect(stdout).toMatch(/Ingress app\/canary: not served: a canary/);
  });
});
