import type { ResourceType } from './resources.js';

/** Kubernetes RBAC verbs. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What a request asks for, in the terms RBAC rules use. */
export interface ResourceRoute {
  group: string;
  version: string;
  resource: string;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  /** True for the legacy `/api/v1/watch/...` form. */
  watchPath: boolean;
}

/**
 * Parses `/api/v1/[watch/][namespaces/{ns}/]{resource}[/{name}[/{sub}]]` and the same under
 * `/apis/{group}/{version}`. Undefined for non-resource paths (discovery, /version).
 */
export function parseResourcePath(pathname: string): ResourceRoute | undefined {
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    rest = segs.slice(1);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    rest = segs.slice(2);
  } else return undefined;
  const version = rest[0]!;
  let tail = rest.slice(1);
  let watchPath = false;
  if (tail[0] === 'watch') {
    watchPath = true;
    tail = tail.slice(1);
  }
  let namespace: string | undefined;
  // `/api/v1/namespaces/{name}/status` is the Namespace's own subresource, not a resource in it.
  const namespaceSub =
    group === '' &&
    tail[0] === 'namespaces' &&
    tail.length === 3 &&
    ['status', 'finalize'].includes(tail[2]!);
  if (tail[0] === 'namespaces' && tail.length >= 3 && !namespaceSub) {
    namespace = tail[1];
    tail = tail.slice(2);
  }
  if (tail.length === 0 || tail.length > 3) return undefined;
  return { group, version, resource: tail[0]!, name: tail[1], subresource: tail[2], namespace, watchPath };
}

export function verbOf(method: string, route: ResourceRoute, query: URLSearchParams): Verb | undefined {
  const watch = route.watchPath || ['true', '1'].includes(query.get('watch') ?? '');
  switch (method) {
    case 'GET':
      if (route.name !== undefined) return watch ? 'watch' : 'get';
      return watch ? 'watch' : 'list';
    case 'POST':
      return route.name === undefined ? 'create' : undefined;
    case 'PUT':
      return route.name !== undefined ? 'update' : undefined;
    case 'PATCH':
      return route.name !== undefined ? 'patch' : undefined;
    case 'DELETE':
      return route.name !== undefined ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

export function findType(types: ResourceType[], route: ResourceRoute): ResourceType | undefined {
  return types.find(
    (t) => t.group === route.group && t.resource === route.resource && t.versions.includes(route.version),
  );
}
