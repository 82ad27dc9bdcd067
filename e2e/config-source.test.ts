// Black-box: where the built CLI gets its configuration from: a directory of YAML files, in-place writes,
// --ingress-class, and an empty file. Pods on 127.0.36.x–127.0.38.x.
import { stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pod, startPod } from './support/backends.js';
import { type GatewayProcess, startGateway } from './support/gateway-process.js';
import { request } from './support/http-client.js';
import { ingress, service, slice, tempConfig, toYaml } from './support/manifests.js';

const applied = (gw: GatewayProcess): number =>
  gw.logs.filter((l) => l.msg === 'configuration applied').length;

/**
 * Runs `change`, then waits for `configuration applied` lines after it until `check` holds. An editor's
 * write can be seen in steps (created empty, then written), so more than one application may be needed;
 * bounded in count and time.
 */
async function changeAndWait(
  gw: GatewayProcess,
  change: () => Promise<void>,
  check: () => Promise<boolean>,
  { maxApplies = 5, timeoutMs = 5000 } = {},
): Promise<void> {
  let seen = applied(gw);
  await change();
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < maxApplies; i++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const before = seen;
    await gw.waitForLog((l) => l.msg === 'configuration applied' && applied(gw) > before, remaining);
    seen = applied(gw);
    if (await check()) return;
  }
  throw new Error(`configuration not applied as expected; logs: ${JSON.stringify(gw.logs.slice(-10))}`);
}

const podOf = async (port: number, host: string): Promise<string | number> => {
  const r = await request(port, { host });
  return r.status === 200 ? (JSON.parse(r.body) as { pod: string }).pod : r.status;
};

const pods: Pod[] = [];
const gateways: GatewayProcess[] = [];

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all(pods.map((p) => p.close()));
});

async function pod(name: string, ip: string): Promise<Pod> {
  const p = await startPod(name, ip);
  pods.push(p);
  return p;
}

async function gateway(args: string[]): Promise<GatewayProcess> {
  const g = await startGateway([...args, '--no-access-log']);
  gateways.push(g);
  return g;
}

function backend(ns: string, name: string, p: Pod): object[] {
  return [service(ns, name), slice(ns, name, p.port, [p.ip])];
}

// Every gateway of this file starts at once, so that their start-up times overlap.
let dirGw: GatewayProcess;
let dir: string;
let gamma: Pod;
let classGw: GatewayProcess;
let emptyGw: GatewayProcess;
let soloGw: GatewayProcess;
let soloFile: string;
let soloRoutes: string;

async function dirArgs(): Promise<string[]> {
  const [alpha, beta] = await Promise.all([pod('alpha', '127.0.36.1'), pod('beta', '127.0.36.2')]);
  gamma = await pod('gamma', '127.0.36.3');
  // Services and their slices in one file, the Ingresses in another.
  ({ dir } = await tempConfig([...backend('cfg', 'alpha', alpha), ...backend('cfg', 'beta', beta)]));
  await writeFile(
    join(dir, 'ingresses.yaml'),
    toYaml([
      ingress('cfg', 'alpha', [{ host: 'alpha.cfg.test', service: 'alpha' }]),
      ingress('cfg', 'beta', [{ host: 'beta.cfg.test', service: 'beta' }]),
    ]),
  );
  return ['--config', dir];
}

async function classArgs(): Promise<string[]> {
  const p = await pod('classy', '127.0.37.1');
  const classed = (
    name: string,
    host: string,
    extra: Record<string, unknown>,
    annotation?: string,
  ): object => {
    const ing = ingress('cls', name, [{ host, service: 'classy' }], extra) as {
      metadata: Record<string, unknown>;
    };
    if (annotation !== undefined) ing.metadata.annotations = { 'kubernetes.io/ingress.class': annotation };
    return ing;
  };
  const { file } = await tempConfig([
    ...backend('cls', 'classy', p),
    classed('by-field', 'field.cls.test', { ingressClassName: 'gw-e2e' }),
    classed('other-field', 'other-field.cls.test', { ingressClassName: 'other' }),
    classed('by-annotation', 'annotation.cls.test', {}, 'gw-e2e'),
    classed('other-annotation', 'other-annotation.cls.test', {}, 'other'),
    classed('no-class', 'none.cls.test', {}),
  ]);
  return ['--config', file, '--ingress-class', 'gw-e2e'];
}

async function emptyArgs(): Promise<string[]> {
  const { file } = await tempConfig([]);
  await writeFile(file, '');
  return ['--config', file];
}

async function soloArgs(): Promise<string[]> {
  const p = await pod('solo', '127.0.38.1');
  soloRoutes = toYaml([...backend('solo', 'solo', p), ingress('solo', 'solo', [{ service: 'solo' }])]);
  ({ file: soloFile } = await tempConfig([]));
  await writeFile(soloFile, soloRoutes);
  return ['--config', soloFile];
}

beforeAll(async () => {
  [dirGw, classGw, emptyGw, soloGw] = await Promise.all([
    dirArgs().then(gateway),
    classArgs().then(gateway),
    emptyArgs().then(gateway),
    soloArgs().then(gateway),
  ]);
});

describe('--config DIR', () => {
  let gw: GatewayProcess;
  beforeAll(() => {
    gw = dirGw;
  });

  it('serves the routes of every file in the directory', async () => {
    expect(await podOf(gw.http, 'alpha.cfg.test')).toBe('alpha');
    expect(await podOf(gw.http, 'beta.cfg.test')).toBe('beta');
    expect(await podOf(gw.http, 'gamma.cfg.test')).toBe(404);
  });

  it('adds the routes of a file added to the directory, and drops them when it is removed', async () => {
    const extra = join(dir, 'gamma.yaml');
    await changeAndWait(
      gw,
      () =>
        writeFile(
          extra,
          toYaml([
            ...backend('cfg', 'gamma', gamma),
            ingress('cfg', 'gamma', [{ host: 'gamma.cfg.test', service: 'gamma' }]),
          ]),
        ),
      async () => (await podOf(gw.http, 'gamma.cfg.test')) === 'gamma',
    );
    expect(await podOf(gw.http, 'alpha.cfg.test')).toBe('alpha');
    expect(await podOf(gw.http, 'beta.cfg.test')).toBe('beta');

    await changeAndWait(
      gw,
      () => unlink(extra),
      async () => (await podOf(gw.http, 'gamma.cfg.test')) === 404,
    );
    expect(await podOf(gw.http, 'alpha.cfg.test')).toBe('alpha');
  });

  it('picks up an in-place write of a file (same inode, no rename)', async () => {
    const file = join(dir, 'ingresses.yaml');
    const inode = (await stat(file)).ino;
    await changeAndWait(
      gw,
      () =>
        writeFile(
          file,
          toYaml([
            ingress('cfg', 'alpha', [{ host: 'alpha2.cfg.test', service: 'alpha' }]),
            ingress('cfg', 'beta', [{ host: 'beta.cfg.test', service: 'alpha' }]),
          ]),
        ),
      async () => (await podOf(gw.http, 'alpha2.cfg.test')) === 'alpha',
    );
    expect((await stat(file)).ino).toBe(inode);
    expect(await podOf(gw.http, 'alpha.cfg.test')).toBe(404);
    expect(await podOf(gw.http, 'beta.cfg.test')).toBe('alpha');
  });
});

describe('--ingress-class', () => {
  let gw: GatewayProcess;
  beforeAll(() => {
    gw = classGw;
  });

  it('serves an Ingress whose spec.ingressClassName is the class', async () => {
    expect(await podOf(gw.http, 'field.cls.test')).toBe('classy');
  });

  it('serves an Ingress whose legacy kubernetes.io/ingress.class annotation is the class', async () => {
    expect(await podOf(gw.http, 'annotation.cls.test')).toBe('classy');
  });

  it('ignores Ingresses of another class, or of none', async () => {
    expect(await podOf(gw.http, 'other-field.cls.test')).toBe(404);
    expect(await podOf(gw.http, 'other-annotation.cls.test')).toBe(404);
    expect(await podOf(gw.http, 'none.cls.test')).toBe(404);
  });
});

describe('an empty configuration file', () => {
  it('starts with no routes and keeps serving', async () => {
    const gw = emptyGw;
    expect((await request(gw.http, { host: 'anything.test' })).status).toBe(404);
    expect((await request(gw.metrics, { path: '/healthz' })).status).toBe(200);
    expect((await request(gw.metrics, { path: '/readyz' })).status).toBe(200);
  });

  it('written in place over a working one: every host 404, /healthz 200, later writes still applied', async () => {
    const [gw, file, routes] = [soloGw, soloFile, soloRoutes];
    expect(await podOf(gw.http, 'solo.test')).toBe('solo');
    expect(await podOf(gw.http, 'other.test')).toBe('solo');

    await changeAndWait(
      gw,
      () => writeFile(file, ''),
      async () => (await podOf(gw.http, 'solo.test')) === 404,
    );
    expect(await podOf(gw.http, 'other.test')).toBe(404);
    expect(await podOf(gw.http, 'solo.test:8080')).toBe(404);
    expect((await request(gw.metrics, { path: '/healthz' })).status).toBe(200);
    expect(gw.child.exitCode).toBeNull();

    await changeAndWait(
      gw,
      () => writeFile(file, routes),
      async () => (await podOf(gw.http, 'solo.test')) === 'solo',
    );
  });
});
