// Deterministic object sets for the scale benchmarks: N Ingresses (5 paths each), one Service per
// Ingress, one EndpointSlice per Service (3 endpoints), in namespaces ns-0..ns-(K-1), one IngressClass
// of ours, optionally a wildcard TLS Secret per namespace.
//
//   import { generateObjects } from './generate-objects.mjs';
//   const objects = generateObjects({ ingresses: 10000 });          // plain JSON objects (API server)
//
//   node benchmarks/generate-objects.mjs --ingresses 10000 --out DIR [--namespaces 100] [--tls]
//     writes DIR/ns-<k>.yaml (one multi-document file per namespace) and DIR/cluster.yaml, for
//     `--config DIR`.
//
// Names: Ingress, Service and EndpointSlice `app-<i>` in namespace `ns-<i % namespaces>`, host
// `app-<i>.bench.test`. Endpoints are on 127.200.0.0/13 (never contacted unless traffic is sent there);
// `endpoints: { [i]: { addresses, port } }` points Service i at real backends instead.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const INGRESS_CLASS = 'gateway';
export const CONTROLLER = 'k8s.io/ingress-gateway';
export const TLS_SECRET = 'bench-tls';
export const ENDPOINT_PORT = 8080;

const PATHS = ['/', '/api', '/api/v1', '/static', '/exact'];
const MIXED = ['Prefix', 'ImplementationSpecific', 'Prefix'];

export const namespaceOf = (i, namespaces = 100) => `ns-${i % namespaces}`;
export const nameOf = (i) => `app-${i}`;
export const hostOf = (i) => `app-${i}.bench.test`;

/** `/` is always Prefix and `/exact` always Exact; the others rotate Prefix/ImplementationSpecific. */
function pathTypeOf(i, j) {
  if (j === 0) return 'Prefix';
  if (PATHS[j] === '/exact') return 'Exact';
  return MIXED[(i + j) % MIXED.length];
}

/** Ingress i; `extraPaths` appends Prefix paths (a benchmark's change to one Ingress). */
export function ingress(i, { namespaces = 100, tls = false, extraPaths = [] } = {}) {
  const name = nameOf(i);
  const backend = { service: { name, port: { name: 'http' } } };
  const paths = [...PATHS, ...extraPaths].map((path, j) => ({
    path,
    pathType: j < PATHS.length ? pathTypeOf(i, j) : 'Prefix',
    backend,
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: namespaceOf(i, namespaces), labels: { app: name } },
    spec: {
      ingressClassName: INGRESS_CLASS,
      ...(tls ? { tls: [{ hosts: [hostOf(i)], secretName: TLS_SECRET }] } : {}),
      rules: [{ host: hostOf(i), http: { paths } }],
    },
  };
}

export function service(i, { namespaces = 100 } = {}) {
  const name = nameOf(i);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: namespaceOf(i, namespaces), labels: { app: name } },
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: ENDPOINT_PORT }],
    },
  };
}

/** 127.200.0.0 + k: three fake loopback addresses per Service, all distinct. */
export function fakeAddress(k) {
  return `127.${200 + ((k >> 16) & 7)}.${(k >> 8) & 255}.${k & 255}`;
}

/** The EndpointSlice of Service i: 3 fake endpoints, or `addresses` on `port` when given. */
export function endpointSlice(i, { namespaces = 100, addresses, port = ENDPOINT_PORT, generation = 0 } = {}) {
  const name = nameOf(i);
  const list = addresses ?? [0, 1, 2].map((e) => fakeAddress(i * 3 + e));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-abcde`,
      namespace: namespaceOf(i, namespaces),
      labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'bench' },
      ...(generation > 0 ? { annotations: { 'bench/generation': String(generation) } } : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port }],
    endpoints: list.map((address, e) => ({
      addresses: [address],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: namespaceOf(i, namespaces), name: `${name}-pod-${e}` },
    })),
  };
}

export function ingressClass() {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: INGRESS_CLASS },
    spec: { controller: CONTROLLER },
  };
}

// A wildcard certificate for *.bench.test (self-signed, EC P-256, valid 2026-12-01 to 2126), made for
// this benchmark only (the key is public: never trust it). One Secret per namespace, so TLS costs
// parsing 100 certificates, not 10,000.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBnTCCAUSgAwIBAgIURfar3ENEpFOEgUBAYAa/KLDlY2swCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMKi5iZW5jaC50ZXN0MCAXDTI2MTIwMTIyNDQzOFoYDzIxMjYx
MTA3MjI0NDM4WjAXMRUwEwYDVQQDDAwqLmJlbmNoLnRlc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAT47Gi2bvBiyboGn16tyNOvUSh8OGDTX4yamsCPkg0/6B9g
oaYSzOdFfQtLkbESLnC8LRmwA/+7O28TYUG/ZVFfo2wwajAdBgNVHQ4EFgQUrfXp
it+zUFcSPve831sFCK0xDeEwHwYDVR0jBBgwFoAUrfXpit+zUFcSPve831sFCK0x
DeEwDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggwqLmJlbmNoLnRlc3QwCgYI
KoZIzj0EAwIDRwAwRAIgakavaMsfma0QONrBV+nbkIF0XDqRnjUidSzK3GQXmNAC
ID/HZrNDVkFwTAJQXWNPWkb/PfMPWsdGErskPoDD+CDO
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghp7QtyC0xt3rI3Jn
U34oXMD97lUO416tJ41Zx6Ze3iqhRANCAAT47Gi2bvBiyboGn16tyNOvUSh8OGDT
X4yamsCPkg0/6B9goaYSzOdFfQtLkbESLnC8LRmwA/+7O28TYUG/ZVFf
-----END PRIVATE KEY-----
`;

export function tlsSecret(namespace, pem = { cert: CERT, key: KEY }) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: TLS_SECRET, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pem.cert).toString('base64'),
      'tls.key': Buffer.from(pem.key).toString('base64'),
    },
  };
}

/** Server-side apply's field set of a value: what kube-apiserver puts in `fieldsV1`, near enough. */
function fieldSet(value) {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [`i:${i}`, fieldSet(v)]));
  if (value === null || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [`f:${k}`, fieldSet(v)]));
}

/**
 * `o` with the `metadata.managedFields` an API server adds to every object it stores (one manager
 * owning every field), so the gateway is measured against objects as large as a real cluster serves.
 */
export function withManagedFields(o, manager = 'kubectl-client-side-apply') {
  const { apiVersion, kind, metadata, ...rest } = o;
  const { name: _n, namespace: _ns, ...meta } = metadata;
  const fields = fieldSet({ metadata: meta, ...rest });
  const entry = {
    manager,
    operation: 'Update',
    apiVersion,
    time: '2026-12-01T00:00:00Z',
    fieldsType: 'FieldsV1',
  };
  return { ...o, metadata: { ...metadata, managedFields: [{ ...entry, fieldsV1: fields }] } };
}

/**
 * Every object, as plain JSON (apiVersion and kind set): the IngressClass, then per Ingress its
 * Ingress, Service and EndpointSlice, then the TLS Secrets. Same options, same output.
 * `managedFields` (default true) adds what an API server adds; manifests in files have none.
 */
export function generateObjects({
  ingresses = 10000,
  namespaces = 100,
  tls = false,
  endpoints = {},
  pem,
  managedFields = true,
} = {}) {
  const objects = [ingressClass()];
  for (let i = 0; i < ingresses; i++) {
    objects.push(ingress(i, { namespaces, tls }), service(i, { namespaces }));
    objects.push(endpointSlice(i, { namespaces, ...(endpoints[i] ?? {}) }));
  }
  if (tls) {
    for (let k = 0; k < Math.min(namespaces, ingresses); k++) objects.push(tlsSecret(`ns-${k}`, pem));
  }
  return managedFields ? objects.map((o) => withManagedFields(o)) : objects;
}

// --- YAML (block style; every string double-quoted, as JSON quotes it, which YAML reads alike) ---

function scalar(v) {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function yamlLines(value, indent, out) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return void out.push(`${pad}[]`);
    for (const item of value) {
      if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) {
        const inner = [];
        yamlLines(item, indent + 2, inner);
        out.push(`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1));
      } else out.push(`${pad}- ${typeof item === 'object' ? '{}' : scalar(item)}`);
    }
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0) {
        out.push(`${pad}${k}: ${Array.isArray(v) ? '[]' : '{}'}`);
      } else {
        out.push(`${pad}${k}:`);
        yamlLines(v, Array.isArray(v) ? indent : indent + 2, out);
      }
    } else out.push(`${pad}${k}: ${scalar(v)}`);
  }
}

export function toYaml(objects) {
  return objects
    .map((o) => {
      const out = [];
      yamlLines(o, 0, out);
      return `---\n${out.join('\n')}\n`;
    })
    .join('');
}

/** One file per namespace (`ns-<k>.yaml`) plus `cluster.yaml` for cluster-scoped objects. */
export function writeYamlDirectory(dir, objects) {
  mkdirSync(dir, { recursive: true });
  const files = new Map();
  for (const o of objects) {
    const file = o.metadata.namespace === undefined ? 'cluster.yaml' : `${o.metadata.namespace}.yaml`;
    if (!files.has(file)) files.set(file, []);
    files.get(file).push(o);
  }
  for (const [file, list] of files) writeFileSync(join(dir, file), toYaml(list));
  return [...files.keys()];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      ingresses: { type: 'string', default: '10000' },
      namespaces: { type: 'string', default: '100' },
      tls: { type: 'boolean', default: false },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const objects = generateObjects({
    ingresses: Number(values.ingresses),
    namespaces: Number(values.namespaces),
    tls: values.tls,
    managedFields: values.json || values.out === undefined,
  });
  if (values.json || values.out === undefined) {
    process.stdout.write(`${JSON.stringify(objects)}\n`);
  } else {
    const files = writeYamlDirectory(values.out, objects);
    process.stderr.write(`${objects.length} objects in ${files.length} files under ${values.out}\n`);
  }
}
