import type { KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import { collectionPath, endpointSliceFromV1beta1, watchedKinds } from './resources.js';

describe('watched kinds by EndpointSlice version', () => {
  it.each([
    { version: 'v1', path: '/apis/discovery.k8s.io/v1/namespaces/app/endpointslices' },
    { version: 'v1beta1', path: '/apis/discovery.k8s.io/v1beta1/namespaces/app/endpointslices' },
  ] as const)('$version: EndpointSlices at $path, the rest unchanged', ({ version, path }) => {
    const kinds = watchedKinds(version);
    const slices = kinds.find((k) => k.kind === 'EndpointSlice')!;
    expect(collectionPath(slices, 'app')).toBe(path);
    expect(slices.apiVersion).toBe('discovery.k8s.io/v1');
    expect(kinds.filter((k) => k.kind !== 'EndpointSlice')).toEqual(
      watchedKinds('v1').filter((k) => k.kind !== 'EndpointSlice'),
    );
  });

  it('converts a v1beta1 slice to v1: topology becomes nodeName and zone', () => {
    const v1beta1 = {
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'app', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        {
          addresses: ['10.0.0.1'],
          conditions: { ready: true },
          topology: { 'kubernetes.io/hostname': 'node-1', 'topology.kubernetes.io/zone': 'z1' },
        },
        { addresses: ['10.0.0.2'], conditions: { ready: false } },
      ],
    } as unknown as KubeObject;
    expect(endpointSliceFromV1beta1(v1beta1)).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'app', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'node-1', zone: 'z1' },
        { addresses: ['10.0.0.2'], conditions: { ready: false } },
      ],
    });
  });
});
