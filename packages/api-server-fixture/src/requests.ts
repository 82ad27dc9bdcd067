import type { Verb } from './routes.js';

/** One request as the fixture saw it, in RBAC terms (what a ClusterRole's rules are compared with). */
export interface RequestRecord {
  method: string;
  /** URL path without the query. */
  path: string;
  query: Record<string, string>;
  /** RBAC verb; for non-resource URLs (discovery, /version) the lower-case HTTP method. */
  verb: Verb | string;
  group: string | undefined;
  version: string | undefined;
  resource: string | undefined;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  fieldSelector: string | undefined;
  labelSelector: string | undefined;
  /** resourceVersion query parameter (lists and watches). */
  resourceVersion: string | undefined;
  /** Authenticated user name; undefined when the token was missing or wrong. */
  user: string | undefined;
  /** HTTP status answered (for a watch: 200 as soon as the stream opened). */
  status: number;
}

/**
 * Which requests a fault or denial applies to. Every given field must match; `resource` may name a
 * subresource as RBAC does (`ingresses/status`).
 */
export interface RequestMatch {
  verb?: Verb | Verb[];
  resource?: string;
  group?: string;
  namespace?: string;
  name?: string;
}

export function requestMatches(
  m: RequestMatch,
  r: Pick<RequestRecord, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name'>,
): boolean {
  if (r.resource === undefined) return false;
  if (m.verb !== undefined && !(Array.isArray(m.verb) ? m.verb : [m.verb]).includes(r.verb as Verb))
    return false;
  if (m.resource !== undefined) {
    const [res, sub] = m.resource.split('/');
    if (res !== r.resource) return false;
    if (sub !== undefined && sub !== r.subresource) return false;
    if (sub === undefined && r.subresource !== undefined) return false;
  }
  if (m.group !== undefined && m.group !== r.group) return false;
  if (m.namespace !== undefined && m.namespace !== r.namespace) return false;
  if (m.name !== undefined && m.name !== r.name) return false;
  return true;
}

/** The exact wording of kube-apiserver's RBAC denial. */
export function forbiddenMessage(
  user: string,
  r: Pick<RequestRecord, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name'>,
): string {
  const group = r.group ?? '';
  const qualified = group === '' ? r.resource : `${r.resource}.${group}`;
  const subject = r.name !== undefined ? `${qualified} "${r.name}"` : qualified;
  const resource = r.subresource !== undefined ? `${r.resource}/${r.subresource}` : r.resource;
  const scope = r.namespace !== undefined ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  return `${subject} is forbidden: User "${user}" cannot ${r.verb} resource "${resource}" in API group "${group}" ${scope}`;
}
