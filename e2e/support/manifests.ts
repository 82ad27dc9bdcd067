// Builders of the YAML manifests the e2e tests serve.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export function service(ns: string, name: string, port = 80, portName = 'http'): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { ports: [{ name: portName, port, targetPort: 8080 }] },
  };
}

export function slice(ns: string, svc: string, targetPort: number, ips: string[], portName = 'http'): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-slice`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: portName, port: targetPort, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

export function ingress(
  ns: string,
  name: string,
  rules: Array<{ host?: string; path?: string; pathType?: string; service: string; port?: number }>,
  extra: Record<string, unknown> = {},
): object {
  const byHost = new Map<string | undefined, unknown[]>();
  for (const r of rules) {
    const paths = byHost.get(r.host) ?? [];
    paths.push({
      path: r.path ?? '/',
      pathType: r.pathType ?? 'Prefix',
      backend: { service: { name: r.service, port: { number: r.port ?? 80 } } },
    });
    byHost.set(r.host, paths);
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns },
    spec: {
      ...extra,
      rules: [...byHost].map(([host, paths]) => ({ ...(host ? { host } : {}), http: { paths } })),
    },
  };
}

export function tlsSecret(ns: string, name: string, certPem: string, keyPem: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(certPem).toString('base64'),
      'tls.key': Buffer.from(keyPem).toString('base64'),
    },
  };
}

export function toYaml(objects: object[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export async function tempConfig(objects: object[]): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-e2e-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, toYaml(objects));
  return { dir, file };
}

/** Replaces the file atomically, as editors and kubectl-like tools do. */
export async function replaceConfig(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
