/** One served resource type: enough to route, store, list and describe it in discovery. */
export interface ResourceType {
  group: string;
  /** Versions served for this group; the first is the preferred one. */
  versions: string[];
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Has a `status` subresource: main writes keep the stored status, status writes change only it. */
  hasStatus: boolean;
  shortNames?: string[];
  /** Field selectors the real server accepts beyond metadata.name / metadata.namespace. */
  extraFields?: Record<string, (obj: KubeObject) => string | undefined>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ResourceOptions {
  /** Versions of discovery.k8s.io served (EndpointSlice); default ['v1']. */
  endpointSliceVersions?: string[];
}

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function resourceTypes(options: ResourceOptions = {}): ResourceType[] {
  const core = (
    resource: string,
    kind: string,
    namespaced = true,
    hasStatus = false,
    extra: Partial<ResourceType> = {},
  ): ResourceType => ({ group: '', versions: ['v1'], resource, kind, namespaced, hasStatus, ...extra });
  return [
    core('services', 'Service', true, true, { shortNames: ['svc'] }),
    core('endpoints', 'Endpoints', true, false, { shortNames: ['ep'] }),
    core('secrets', 'Secret', true, false, { extraFields: { type: (o) => o.type as string | undefined } }),
    core('configmaps', 'ConfigMap', true, false, { shortNames: ['cm'] }),
    core('pods', 'Pod', true, true, {
      shortNames: ['po'],
      extraFields: {
        'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
        'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '',
      },
    }),
    core('namespaces', 'Namespace', false, true, {
      shortNames: ['ns'],
      extraFields: { 'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '' },
    }),
    core('nodes', 'Node', false, true, { shortNames: ['no'] }),
    core('events', 'Event', true, false, { shortNames: ['ev'] }),
    {
      group: 'networking.k8s.io',
      versions: ['v1'],
      resource: 'ingresses',
      kind: 'Ingress',
      namespaced: true,
      hasStatus: true,
      shortNames: ['ing'],
    },
    {
      group: 'networking.k8s.io',
      versions: ['v1'],
      resource: 'ingressclasses',
      kind: 'IngressClass',
      namespaced: false,
      hasStatus: false,
    },
    {
      group: 'discovery.k8s.io',
      versions: options.endpointSliceVersions ?? ['v1'],
      resource: 'endpointslices',
      kind: 'EndpointSlice',
      namespaced: true,
      hasStatus: false,
    },
    {
      group: 'coordination.k8s.io',
      versions: ['v1'],
      resource: 'leases',
      kind: 'Lease',
      namespaced: true,
      hasStatus: false,
    },
  ];
}

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** `ingresses.networking.k8s.io` / `services`: how the real server names a resource in messages. */
export function qualifiedName(type: ResourceType): string {
  return type.group === '' ? type.resource : `${type.resource}.${type.group}`;
}

export function apiResourceList(types: ResourceType[], group: string, version: string): object {
  const resources: object[] = [];
  for (const t of types) {
    if (t.group !== group || !t.versions.includes(version)) continue;
    resources.push({
      name: t.resource,
      singularName: t.kind.toLowerCase(),
      namespaced: t.namespaced,
      kind: t.kind,
      verbs,
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
    });
    if (t.hasStatus) {
      resources.push({
        name: `${t.resource}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
}

function apiGroup(types: ResourceType[], group: string): object | undefined {
  const versions = [...new Set(types.filter((t) => t.group === group).flatMap((t) => t.versions))];
  if (versions.length === 0) return undefined;
  const entry = (v: string) => ({ groupVersion: `${group}/${v}`, version: v });
  return { name: group, versions: versions.map(entry), preferredVersion: entry(versions[0]!) };
}

export function apiGroupDoc(types: ResourceType[], group: string): object | undefined {
  const g = apiGroup(types, group);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...g };
}

export function apiGroupList(types: ResourceType[]): object {
  const groups = [...new Set(types.map((t) => t.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => apiGroup(types, g)) };
}
