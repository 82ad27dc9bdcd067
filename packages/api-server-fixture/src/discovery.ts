import { apiGroupDoc, apiGroupList, apiResourceList, type ResourceType } from './resources.js';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
}

/** Answers the discovery documents; undefined for a path that is not one. */
export function discovery(
  types: ResourceType[],
  path: string,
  version: VersionInfo,
  address: string,
): object | undefined {
  const p = path.replace(/\/+$/, '');
  if (p === '/version') {
    return {
      ...version,
      gitCommit: 'fixture',
      gitTreeState: 'clean',
      buildDate: '2025-01-01T00:00:00Z',
      goVersion: 'go1.24',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }
  if (p === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }],
    };
  }
  if (p === '/api/v1') return apiResourceList(types, '', 'v1');
  if (p === '/apis') return apiGroupList(types);
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
  if (!m) return undefined;
  const [, group, v] = m as unknown as [string, string, string | undefined];
  if (v === undefined) return apiGroupDoc(types, group);
  const known = types.some((t) => t.group === group && t.versions.includes(v));
  return known ? apiResourceList(types, group, v) : undefined;
}
