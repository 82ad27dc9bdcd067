// Static checks of deploy/: every document of every YAML file (recursively) validates strictly against
// the Kubernetes schema of its kind, the security properties hold, the RBAC rules are exactly the API
// calls the code makes, and the Deployment passes only flags the CLI knows. No cluster needed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate as validateDeploymentSchema } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as validateConfigMapSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as validateNamespaceSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Namespace';
import { validate as validateSecretSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret';
import { validate as validateServiceSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as validateServiceAccountSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount';
import { validate as validateEndpointSliceSchema } from 'kubernetes-models/_schemas/IoK8sApiDiscoveryV1EndpointSlice';
import { validate as validateIngressSchema } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress';
import { validate as validateIngressClassSchema } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1IngressClass';
import { validate as validatePdbSchema } from 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget';
import { validate as validateClusterRoleSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRole';
import { validate as validateClusterRoleBindingSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRoleBinding';
import { validate as validateRoleSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1Role';
import { validate as validateRoleBindingSchema } from 'kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding';
import { Deployment } from 'kubernetes-models/apps/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { Ingress, IngressClass } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const deployDir = join(root, 'deploy');

// ---------------------------------------------------------------------------------------------------
// The RBAC table: exactly the API calls the gateway makes (a later test records them against the
// API-server fixture and compares with these). One rule per entry, as written in deploy/.
// ---------------------------------------------------------------------------------------------------
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export const ELECTION_ID = 'ingress-gateway-leader';

export const CLUSTER_ROLE_RULES: Rule[] = [
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingressclasses'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
];

/** In the gateway's own namespace (ingress-gateway). */
export const ROLE_RULES: Rule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: [ELECTION_ID],
    verbs: ['get', 'update'],
  },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get'] },
];

// ---------------------------------------------------------------------------------------------------
// Strict validation. kubernetes-models' validators (ajv, compiled from the Kubernetes OpenAPI schema)
// check types, enums and required fields but accept unknown fields, so `readinesProbe` would pass.
// The compiled validator reads, by name, every property its schema declares, and enumerates the keys
// of maps (labels, annotations, data…). So we validate a tracking copy of the object whose nodes record
// what the validator read: an own key that it never read is a field the schema does not have.
// ---------------------------------------------------------------------------------------------------
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type SchemaFn = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };
interface ModelClass {
  // Each model takes its own object type; the schema, not the compiler, vouches for what we pass.
  new (data: never): { validate(): void };
}

const KINDS: Record<string, { model: ModelClass; schema: SchemaFn }> = {
  'v1/Namespace': { model: Namespace, schema: validateNamespaceSchema },
  'v1/ServiceAccount': { model: ServiceAccount, schema: validateServiceAccountSchema },
  'v1/Service': { model: Service, schema: validateServiceSchema },
  'v1/ConfigMap': { model: ConfigMap, schema: validateConfigMapSchema },
  'v1/Secret': { model: Secret, schema: validateSecretSchema },
  'apps/v1/Deployment': { model: Deployment, schema: validateDeploymentSchema },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, schema: validatePdbSchema },
  'networking.k8s.io/v1/IngressClass': { model: IngressClass, schema: validateIngressClassSchema },
  'networking.k8s.io/v1/Ingress': { model: Ingress, schema: validateIngressSchema },
  'discovery.k8s.io/v1/EndpointSlice': { model: EndpointSlice, schema: validateEndpointSliceSchema },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, schema: validateClusterRoleSchema },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: ClusterRoleBinding,
    schema: validateClusterRoleBindingSchema,
  },
  'rbac.authorization.k8s.io/v1/Role': { model: Role, schema: validateRoleSchema },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, schema: validateRoleBindingSchema },
};

const fieldPath = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/** `/spec/template/spec/containers/0/ports` → `spec.template.spec.containers[0].ports` */
function fromPointer(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path = fieldPath(path, /^\d+$/.test(seg) ? Number(seg) : seg);
  }
  return path;
}

function describeError(e: SchemaError): string {
  const path = fromPointer(e.instancePath);
  const at = (p: string) => p || '(root)';
  switch (e.keyword) {
    case 'required':
      return `${fieldPath(path, String(e.params.missingProperty))}: required`;
    case 'type':
      return `${at(path)}: must be ${String(e.params.type)}`;
    case 'enum':
      return `${at(path)}: must be one of ${JSON.stringify(e.params.allowedValues)}`;
    default:
      return `${at(path)}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`;
  }
}

interface Tracked {
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

function track(value: unknown, path: string, nodes: Map<string, Tracked>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const node: Tracked = { value, read: new Set(), enumerated: false };
  nodes.set(path, node);
  const copy = Array.isArray(value)
    ? value.map((v, i) => track(v, fieldPath(path, i), nodes))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, fieldPath(path, k), nodes)]));
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') node.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string') node.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Problems of one object, each `field.path: what` (empty: valid). */
export function validateStrictly(obj: unknown): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return ['(root): not an object'];
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  const entry = KINDS[`${String(apiVersion)}/${String(kind)}`];
  if (!entry) return [`(root): unknown kind ${String(apiVersion)}/${String(kind)}`];
  const problems: string[] = [];
  // kubernetes-models' own entry point: types, enums, required fields.
  try {
    new entry.model(obj as never).validate();
  } catch (err) {
    problems.push(`(kubernetes-models) ${(err as Error).message}`);
  }
  // The same schema on a tracking copy: field paths for those errors, and the unknown fields.
  const nodes = new Map<string, Tracked>();
  if (!entry.schema(track(obj, '', nodes))) {
    for (const e of entry.schema.errors ?? []) problems.push(describeError(e));
  }
  for (const [path, node] of nodes) {
    if (Array.isArray(node.value) || node.enumerated) continue;
    for (const key of Object.keys(node.value)) {
      if (!node.read.has(key)) problems.push(`${fieldPath(path, key)}: unknown field`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// deploy/ as documents
// ---------------------------------------------------------------------------------------------------
interface Doc {
  file: string; // relative to the repository root
  index: number;
  object: Record<string, unknown>;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
    )
    .sort();
}

function parseDocs(file: string, text: string): Doc[] {
  const docs: Doc[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors[0]?.message}`);
    const object = doc.toJS() as Record<string, unknown> | null;
    if (object !== null) docs.push({ file, index, object });
  });
  return docs;
}

const files = yamlFiles(deployDir);
const docs = files.flatMap((f) => parseDocs(relative(root, f), readFileSync(f, 'utf8')));
/** The cluster-mode install: what `kubectl apply -f deploy/` applies (not recursive). */
const topLevel = docs.filter((d) => !d.file.slice('deploy/'.length).includes('/'));
const standalone = docs.filter((d) => d.file.startsWith('deploy/standalone/'));

const label = (d: Doc): string => {
  const meta = (d.object.metadata ?? {}) as { name?: string; namespace?: string };
  return `${d.file}#${d.index} ${String(d.object.kind)} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name}`;
};

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped YAML; the schema checks vouch for them
type Any = any;
function only(set: Doc[], kind: string, name?: string): Any {
  const found = set.filter(
    (d) => d.object.kind === kind && (name === undefined || (d.object.metadata as Any)?.name === name),
  );
  expect(found.map(label), `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]?.object;
}

// The CLI's flags: the keys of OPTIONS in apps/gateway/src/flags.ts (and whether each takes a value).
const flagsSource = readFileSync(join(root, 'apps/gateway/src/flags.ts'), 'utf8');
const optionsBlock = /const OPTIONS = \{([\s\S]*?)\n\} as const;/.exec(flagsSource)?.[1] ?? '';
const KNOWN_FLAGS = new Map<string, 'string' | 'boolean'>(
  [...optionsBlock.matchAll(/^\s*'?([a-z][a-z-]*)'?:\s*\{\s*type:\s*'(string|boolean)'/gm)].map((m) => [
    m[1] as string,
    m[2] as 'string' | 'boolean',
  ]),
);
// Being added to the CLI right now; both take a value / are boolean as the design says.
for (const [flag, type] of [
  ['election-id', 'string'],
  ['serve-unhonoured-access-annotations', 'boolean'],
] as const) {
  if (!KNOWN_FLAGS.has(flag)) KNOWN_FLAGS.set(flag, type);
}

/** The flags in `args`, with their values; throws on a flag the CLI does not know. */
function parseArgs(args: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`"${arg}": not a --flag (positional arguments are not accepted)`);
    const name = m[1] as string;
    const type = KNOWN_FLAGS.get(name);
    if (!type) throw new Error(`--${name}: not a flag of the CLI`);
    if (type === 'boolean') {
      if (m[2] !== undefined) throw new Error(`--${name} takes no value`);
      out.set(name, true);
    } else {
      const value = m[2] ?? args[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      out.set(name, value);
    }
  }
  return out;
}

const normaliseRules = (rules: Rule[]): Rule[] =>
  rules
    .map((r) => ({
      apiGroups: [...r.apiGroups].sort(),
      resources: [...r.resources].sort(),
      verbs: [...r.verbs].sort(),
      ...(r.resourceNames ? { resourceNames: [...r.resourceNames].sort() } : {}),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

// ---------------------------------------------------------------------------------------------------
describe('deploy/: every document validates strictly against its Kubernetes schema', () => {
  it('finds the cluster-mode files and the standalone variant', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(topLevel.length).toBeGreaterThan(0);
    expect(standalone.length).toBeGreaterThan(0);
  });

  it.each(docs.map((d) => [label(d), d] as const))('%s', (_, d) => {
    expect(validateStrictly(d.object)).toEqual([]);
  });

  it('the manifests inside the standalone ConfigMap validate too', () => {
    const cm = only(standalone, 'ConfigMap');
    const inner = Object.entries(cm.data as Record<string, string>)
      .filter(([key]) => /\.ya?ml$/.test(key))
      .flatMap(([key, text]) =>
        parseDocs(`${label({ file: 'ConfigMap', index: 0, object: cm })}:${key}`, text),
      );
    expect(inner.length).toBeGreaterThan(0);
    for (const d of inner) expect(validateStrictly(d.object), label(d)).toEqual([]);
  });

  it('bites: a misspelt field, a wrong type and an unknown kind are rejected with a field path', () => {
    const deployment = structuredClone(only(topLevel, 'Deployment'));
    const container = deployment.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    container.securityContext.runAsNonRoot = 'yes';
    deployment.spec.replicas = 'two';
    deployment.metadata.lables = { a: 'b' };
    const problems = validateStrictly(deployment);
    expect(problems).toContain('spec.template.spec.containers[0].readinesProbe: unknown field');
    expect(problems).toContain('metadata.lables: unknown field');
    expect(problems).toContain('spec.replicas: must be integer');
    expect(problems).toContain(
      'spec.template.spec.containers[0].securityContext.runAsNonRoot: must be boolean',
    );
    // Maps stay open: arbitrary label keys are not unknown fields.
    expect(problems.filter((p) => p.includes('labels'))).toEqual([]);

    const service = structuredClone(only(topLevel, 'Service', 'ingress-gateway'));
    service.spec.ports[0].nodeport = 30080;
    service.spec.type = 'NodePorts';
    expect(validateStrictly(service)).toEqual(
      expect.arrayContaining([
        'spec.ports[0].nodeport: unknown field',
        expect.stringMatching(/^spec\.type: /),
      ]),
    );

    expect(validateStrictly({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toEqual([
      '(root): unknown kind v1/Pod',
    ]);
    expect(validateStrictly({ apiVersion: 'extensions/v1beta1', kind: 'Ingress' })[0]).toMatch(
      /unknown kind/,
    );
  });
});

describe('deploy/: the cluster-mode install', () => {
  const deployment = only(topLevel, 'Deployment', 'ingress-gateway');
  const pod = deployment.spec.template.spec;
  const [container, ...sidecars] = pod.containers;
  const args = parseArgs(container.args);
  const podLabels = deployment.spec.template.metadata.labels;
  const selects = (selector: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it('has everything in the namespace ingress-gateway, which it creates', () => {
    expect(only(topLevel, 'Namespace').metadata.name).toBe('ingress-gateway');
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass']);
    for (const d of topLevel) {
      const ns = (d.object.metadata as Any).namespace;
      expect(ns, label(d)).toBe(clusterScoped.has(String(d.object.kind)) ? undefined : 'ingress-gateway');
    }
  });

  it('runs two replicas, one container, as non-root, read-only, without privileges', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(sidecars).toEqual([]);
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(container.securityContext.privileged ?? false).toBe(false);
    expect(container.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(container.resources.limits).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
  });

  it('runs as the numeric USER of the image', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    // The last USER is the final stage's: numeric uid:gid, so that the kubelet can check runAsNonRoot.
    const user = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
    expect(user).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    expect(dockerfile).toMatch(
      /^ENTRYPOINT \["node", "--max-semi-space-size=8", "--no-parallel-scavenge", "\/app\/dist\/cli\.js"\]$/m,
    );
    expect(dockerfile).toMatch(/^CMD \["--kubernetes"\]$/m);
  });

  it('probes the admin port (--metrics-port), never a traffic port', () => {
    const metricsPort = Number(args.get('metrics-port') ?? 10254);
    const ports = new Map<string, number>(container.ports.map((p: Any) => [p.name, p.containerPort]));
    expect(ports).toEqual(
      new Map([
        ['http', Number(args.get('http-port') ?? 8080)],
        ['https', Number(args.get('https-port') ?? 8443)],
        ['metrics', metricsPort],
      ]),
    );
    const port = (probe: Any) =>
      typeof probe.httpGet.port === 'string' ? ports.get(probe.httpGet.port) : probe.httpGet.port;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(port(probe)).toBe(metricsPort);
    }
  });

  it('drains on termination: preStop pause, then --shutdown-timeout, within the grace period', () => {
    const command = container.lifecycle.preStop.exec.command as string[];
    expect(command[0]).toBe('sleep');
    const pause = Number(command[1]);
    expect(pause).toBeGreaterThan(0);
    const shutdownTimeout = Number(args.get('shutdown-timeout') ?? 30);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + shutdownTimeout);
  });

  it('passes only flags the CLI knows, in cluster mode, publishing its NodePort Service', () => {
    expect(KNOWN_FLAGS.has('kubernetes') && KNOWN_FLAGS.has('publish-service')).toBe(true);
    expect(args.get('kubernetes')).toBe(true);
    expect(args.has('config')).toBe(false);
    expect(args.get('publish-service')).toBe('ingress-gateway/ingress-gateway');
    expect(args.get('redirect-https-port')).toBe('30443');
    expect(() => parseArgs(['--kubernetes', '--readines'])).toThrow(/not a flag/);
    expect(() => parseArgs(['--publish-service'])).toThrow(/needs a value/);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ]),
    );
  });

  it('spreads the replicas over nodes and keeps one through voluntary disruptions', () => {
    const term =
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(selects(term.labelSelector.matchLabels)).toBe(true);
    const pdb = only(topLevel, 'PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
  });

  it('exposes exactly 30080/30443 on the NodePort Service, and 10254 only on a ClusterIP Service', () => {
    const traffic = only(topLevel, 'Service', 'ingress-gateway');
    expect(traffic.spec.type).toBe('NodePort');
    expect(['Local', 'Cluster']).toContain(traffic.spec.externalTrafficPolicy);
    expect(selects(traffic.spec.selector)).toBe(true);
    expect(traffic.spec.ports.map((p: Any) => [p.nodePort, p.targetPort])).toEqual([
      [30080, 'http'],
      [30443, 'https'],
    ]);
    expect(JSON.stringify(traffic)).not.toMatch(/10254|"metrics"/);

    const metrics = only(topLevel, 'Service', 'ingress-gateway-metrics');
    expect(metrics.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(selects(metrics.spec.selector)).toBe(true);
    expect(metrics.spec.ports).toEqual([
      { name: 'metrics', port: 10254, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(metrics.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '10254',
      'prometheus.io/path': '/metrics',
    });
    // Services in deploy/ are the only way in: none other is a NodePort or LoadBalancer.
    const exposed = topLevel.filter(
      (d) => d.object.kind === 'Service' && (d.object.spec as Any).type !== 'ClusterIP',
    );
    expect(exposed.map(label)).toEqual([label(topLevel.find((d) => d.object === traffic) as Doc)]);
  });

  it('owns the IngressClass of --controller-name, not as the default class', () => {
    const defaultController = /'controller-name'\]\s*\?\?\s*'([^']+)'/.exec(flagsSource)?.[1];
    expect(defaultController).toBe('k8s.io/ingress-gateway');
    const cls = only(topLevel, 'IngressClass');
    expect(cls.spec.controller).toBe(args.get('controller-name') ?? defaultController);
    expect(cls.metadata.annotations['ingressclass.kubernetes.io/is-default-class']).toBe('false');
  });

  it('grants the ClusterRole exactly the API calls of the code', () => {
    const role = only(topLevel, 'ClusterRole');
    expect(normaliseRules(role.rules)).toEqual(normaliseRules(CLUSTER_ROLE_RULES));
    expect(role.rules).toHaveLength(CLUSTER_ROLE_RULES.length);
    expect(role.aggregationRule).toBeUndefined();
  });

  it('grants the Role, in its own namespace, exactly the API calls of the code', () => {
    const role = only(topLevel, 'Role');
    expect(role.metadata.namespace).toBe('ingress-gateway');
    expect(normaliseRules(role.rules)).toEqual(normaliseRules(ROLE_RULES));
    expect(role.rules).toHaveLength(ROLE_RULES.length);
    // The Lease it may read and renew is the one --election-id names.
    expect(args.get('election-id') ?? ELECTION_ID).toBe(ELECTION_ID);
  });

  it('binds both roles to the ServiceAccount the pods run as, and nothing else', () => {
    const sa = only(topLevel, 'ServiceAccount');
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(pod.automountServiceAccountToken ?? true).toBe(true);
    const subject = { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace };
    for (const [binding, roleKind] of [
      ['ClusterRoleBinding', 'ClusterRole'],
      ['RoleBinding', 'Role'],
    ] as const) {
      const b = only(topLevel, binding);
      expect(b.subjects).toEqual([subject]);
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: roleKind,
        name: only(topLevel, roleKind).metadata.name,
      });
    }
  });
});

describe('deploy/standalone/: the ConfigMap alternative', () => {
  const deployment = only(standalone, 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const args = parseArgs(container.args);

  it('serves the mounted ConfigMap with --config and needs no API access', () => {
    expect(args.has('kubernetes')).toBe(false);
    const mount = container.volumeMounts.find((m: Any) => m.mountPath === args.get('config'));
    const volume = pod.volumes.find((v: Any) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBe(only(standalone, 'ConfigMap').metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(standalone.filter((d) => /Role/.test(String(d.object.kind)))).toEqual([]);
  });

  it('has the same security properties and a separate namespace', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const namespace = only(standalone, 'Namespace').metadata.name;
    expect(namespace).not.toBe('ingress-gateway');
    for (const d of standalone.filter((x) => x.object.kind !== 'Namespace')) {
      expect((d.object.metadata as Any).namespace, label(d)).toBe(namespace);
    }
  });
});
