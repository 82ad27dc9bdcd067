// Helpers for the gateway against a real kube-apiserver (support/kube-apiserver.ts): raw API calls as any
// token user, deploy/'s manifests, EndpointSlices as v1.20 serves them (discovery.k8s.io/v1beta1), the
// gateway's identity, and the built CLI started with a token user's kubeconfig.
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type GatewayProcess, ROOT, startGateway } from './gateway-process.js';
import type { RealApiServer, TokenUser } from './kube-apiserver.js';

export const GATEWAY_NS = 'ingress-gateway';
/** deploy/'s ServiceAccount, as a token user: what its ClusterRoleBinding and RoleBinding name. */
export const GATEWAY_SA = 'system:serviceaccount:ingress-gateway:ingress-gateway';
export const GATEWAY_SA_USER: TokenUser = {
  name: GATEWAY_SA,
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ingress-gateway', 'system:authenticated'],
};

export interface ApiResponse {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

/** One HTTPS call to the API server as `as` (default admin), verified against the server's CA. */
export function apiRequest(
  server: RealApiServer,
  method: string,
  path: string,
  body?: unknown,
  opts: { as?: string; contentType?: string } = {},
): Promise<ApiResponse> {
  const token = opts.as ? server.tokenFor(opts.as) : server.adminToken;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server.url}${path}`,
      {
        method,
        ca: server.caPem,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : {
                'content-type': opts.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(payload),
              }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** `kubectl apply` of objects (JSON documents: JSON is YAML) as admin; returns kubectl's stdout. */
export async function applyObjects(server: RealApiServer, objects: object[]): Promise<string> {
  const r = await server.kubectl(['apply', '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  return r.stdout;
}

/** `kubectl delete` by kind and name, ignoring a missing object. */
export async function deleteObject(
  server: RealApiServer,
  kind: string,
  ns: string | undefined,
  name: string,
) {
  await server.kubectl([
    'delete',
    kind,
    name,
    ...(ns ? ['-n', ns] : []),
    '--ignore-not-found',
    '--wait=false',
  ]);
}

/** An EndpointSlice as Kubernetes 1.20 serves it: discovery.k8s.io/v1beta1 (same shape for what we use). */
export function sliceV1beta1(
  ns: string,
  svc: string,
  targetPort: number,
  ips: string[],
  opts: { name?: string; portName?: string; notReady?: string[] } = {},
): object {
  return {
    apiVersion: 'discovery.k8s.io/v1beta1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${svc}-slice`,
      namespace: ns,
      labels: { 'kubernetes.io/service-name': svc },
    },
    addressType: 'IPv4',
    ports: [{ name: opts.portName ?? 'http', port: targetPort, protocol: 'TCP' }],
    endpoints: [
      ...ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ...(opts.notReady ?? []).map((ip) => ({ addresses: [ip], conditions: { ready: false } })),
    ],
  };
}

/**
 * A discovery.k8s.io/v1 EndpointSlice document rewritten as v1beta1, for 1.20. Only fields both versions
 * share may be present (addresses, conditions, hostname, targetRef); v1's nodeName/zone/hints and
 * v1beta1's topology have no counterpart here, so a document using them is refused.
 */
export function endpointSliceV1ToV1beta1(doc: Record<string, unknown>): Record<string, unknown> {
  if (doc.kind !== 'EndpointSlice' || doc.apiVersion !== 'discovery.k8s.io/v1') return doc;
  for (const e of (doc.endpoints as Record<string, unknown>[] | undefined) ?? []) {
    for (const field of ['nodeName', 'zone', 'hints', 'deprecatedTopology'])
      if (field in e) throw new Error(`EndpointSlice ${String(field)}: no v1beta1 form in this converter`);
  }
  return { ...doc, apiVersion: 'discovery.k8s.io/v1beta1' };
}

/** The YAML documents of a file in the repository, as plain objects. */
export async function readManifests(relative: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(ROOT, relative), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export type RoleDoc = { kind: string; metadata: { name: string; namespace?: string }; rules: PolicyRule[] };

/** deploy/'s ClusterRole (11-clusterrole.yaml) and Role (12-role.yaml) objects. */
export async function deployRoles(): Promise<{ clusterRole: RoleDoc; role: RoleDoc }> {
  const find = async (file: string, kind: string) =>
    (await readManifests(`deploy/${file}`)).find((d) => d.kind === kind) as unknown as RoleDoc;
  return {
    clusterRole: await find('11-clusterrole.yaml', 'ClusterRole'),
    role: await find('12-role.yaml', 'Role'),
  };
}

/** The role with one verb of one rule removed (the whole rule when it was its only verb). */
export function withoutVerb(role: RoleDoc, ruleIndex: number, verb: string): RoleDoc {
  const rules = role.rules.flatMap((r, i) => {
    if (i !== ruleIndex) return [r];
    const verbs = r.verbs.filter((v) => v !== verb);
    return verbs.length > 0 ? [{ ...r, verbs }] : [];
  });
  return { ...role, rules };
}

/** `verb group/resource` as RBAC and the gateway's log lines name it. */
export function ruleName(rule: PolicyRule, verb: string): string {
  const group = rule.apiGroups[0] ?? '';
  return `${verb} ${rule.resources.join(',')}${group ? `.${group}` : ''}`;
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** A SelfSubjectAccessReview as `user`: what the authorizer answers now. */
export async function canI(server: RealApiServer, user: string, attrs: ResourceAttributes): Promise<boolean> {
  const r = await apiRequest(
    server,
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: attrs },
    },
    { as: user },
  );
  if (r.status !== 201) throw new Error(`selfsubjectaccessreviews: ${r.status} ${r.body}`);
  return r.json<{ status?: { allowed?: boolean } }>().status?.allowed === true;
}

/** Until the authorizer (whose RBAC cache follows changes within moments) answers `expected`. */
export async function waitForAccess(
  server: RealApiServer,
  user: string,
  attrs: ResourceAttributes,
  expected: boolean,
  timeoutMs = 10_000,
): Promise<number> {
  return waitFor(
    `${user} ${expected ? 'may' : 'may not'} ${attrs.verb} ${attrs.resource}`,
    async () => (await canI(server, user, attrs)) === expected,
    timeoutMs,
  );
}

/** Replaces the rules of a ClusterRole (no namespace) or Role (a JSON merge patch replaces the list whole). */
export async function setRules(
  server: RealApiServer,
  role: { kind: string; metadata: { name: string; namespace?: string } },
  rules: PolicyRule[],
): Promise<void> {
  const path =
    role.kind === 'ClusterRole'
      ? `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`
      : `/apis/rbac.authorization.k8s.io/v1/namespaces/${role.metadata.namespace}/roles/${role.metadata.name}`;
  const r = await apiRequest(
    server,
    'PATCH',
    path,
    { rules },
    { contentType: 'application/merge-patch+json' },
  );
  if (r.status !== 200) throw new Error(`patch ${path}: ${r.status} ${r.body}`);
}

/** The built CLI in cluster mode as a token user, in the gateway's namespace. */
export async function startRealGateway(
  server: RealApiServer,
  user: string,
  args: string[] = [],
): Promise<GatewayProcess> {
  const kubeconfig = await server.kubeconfigFor(user, GATEWAY_NS);
  return startGateway(['--kubeconfig', kubeconfig, ...args]);
}

type StatusOf = { status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } } };

/** status.loadBalancer.ingress of an Ingress, as `ip,ip` ('' when none; undefined when there is no such Ingress). */
export async function ingressStatus(
  server: RealApiServer,
  ns: string,
  name: string,
): Promise<string | undefined> {
  const r = await apiRequest(server, 'GET', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/${name}`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`get ingress ${ns}/${name}: ${r.status} ${r.body}`);
  return (r.json<StatusOf>().status?.loadBalancer?.ingress ?? []).map((a) => a.ip ?? a.hostname).join(',');
}

/** The Lease's holderIdentity ('' when released, undefined when there is no Lease). */
export async function leaseHolder(
  server: RealApiServer,
  name = 'ingress-gateway-leader',
): Promise<string | undefined> {
  const r = await apiRequest(
    server,
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY_NS}/leases/${name}`,
  );
  if (r.status === 404) return undefined;
  return r.json<{ spec?: { holderIdentity?: string } }>().spec?.holderIdentity ?? '';
}

/** Until `probe` is truthy, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs = 10_000,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const PLURALS: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  IngressClass: { plural: 'ingressclasses', namespaced: false },
  Node: { plural: 'nodes', namespaced: false },
  Ingress: { plural: 'ingresses', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  EndpointSlice: { plural: 'endpointslices', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Pod: { plural: 'pods', namespaced: true },
  Lease: { plural: 'leases', namespaced: true },
};

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };

/** The REST path of an object (`/api/v1/namespaces/ns/services/name`). */
export function objectPath(o: object): string {
  const { apiVersion = '', kind = '', metadata = {} } = o as Obj;
  const k = PLURALS[kind];
  if (k === undefined) throw new Error(`objectPath: unknown kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = k.namespaced ? `/namespaces/${metadata.namespace ?? 'default'}` : '';
  return `${base}${ns}/${k.plural}/${metadata.name}`;
}

/**
 * Creates an object, or replaces it (PUT at its current resourceVersion), as admin. (Server-side apply,
 * beta in 1.20, refuses a Service port without an explicit protocol.)
 */
export async function put(server: RealApiServer, o: object): Promise<void> {
  const path = objectPath(o);
  const collection = path.slice(0, path.lastIndexOf('/'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const created = await apiRequest(server, 'POST', collection, o);
    if (created.status === 201) return;
    if (created.status !== 409) throw new Error(`create ${path}: ${created.status} ${created.body}`);
    const current = await apiRequest(server, 'GET', path);
    if (current.status === 404) continue; // deleted meanwhile
    const now = current.json<{ metadata: { resourceVersion: string }; spec?: Record<string, unknown> }>();
    const body: Record<string, unknown> = {
      ...o,
      metadata: { ...(o as Obj).metadata, resourceVersion: now.metadata.resourceVersion },
    };
    // A Service keeps the cluster IP it was given: it cannot be unset.
    if ((o as Obj).kind === 'Service') {
      const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
      body.spec = { ...spec, clusterIP: now.spec?.clusterIP, clusterIPs: now.spec?.clusterIPs };
    }
    const replaced = await apiRequest(server, 'PUT', path, body);
    if (replaced.status === 200) return;
    if (replaced.status !== 409) throw new Error(`replace ${path}: ${replaced.status} ${replaced.body}`);
  }
  throw new Error(`put ${path}: conflicts`);
}

/** Deletes an object, as admin; a missing one is fine. */
export async function del(server: RealApiServer, o: object): Promise<void> {
  const r = await apiRequest(server, 'DELETE', objectPath(o));
  if (r.status !== 200 && r.status !== 202 && r.status !== 404)
    throw new Error(`delete ${objectPath(o)}: ${r.status} ${r.body}`);
}
