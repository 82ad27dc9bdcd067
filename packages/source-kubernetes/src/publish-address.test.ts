import { ApiServerFixture } from '@gateway/api-server-fixture';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientFor, RecordingLogger, ungrantedCalls } from './fixture-clients.test-support.js';
import {
  labelSelector,
  nodeAddress,
  normaliseAddresses,
  PublishAddresses,
  parsePublishService,
  parsePublishStatusAddress,
  type RawPod,
  sameAddresses,
  serviceAddresses,
  servingNodes,
} from './publish-address.js';

describe('parsePublishStatusAddress', () => {
  it.each([
    { flag: '203.0.113.7', expected: [{ ip: '203.0.113.7' }] },
    { flag: 'lb.example.com', expected: [{ hostname: 'lb.example.com' }] },
    {
      flag: ' 203.0.113.9, lb.example.com,,2001:db8::1 ,203.0.113.7,203.0.113.9',
      expected: [
        { hostname: 'lb.example.com' },
        { ip: '2001:db8::1' },
        { ip: '203.0.113.7' },
        { ip: '203.0.113.9' },
      ],
    },
    { flag: '', expected: [] },
  ])('$flag', ({ flag, expected }) => {
    expect(parsePublishStatusAddress(flag)).toEqual(expected);
  });
});

describe('parsePublishService', () => {
  it('reads NAMESPACE/NAME', () => {
    expect(parsePublishService('ingress/gateway')).toEqual({ namespace: 'ingress', name: 'gateway' });
  });
  it.each(['gateway', 'a/b/c', '/gateway', 'ingress/'])('refuses %s', (flag) => {
    expect(() => parsePublishService(flag)).toThrow(/NAMESPACE\/NAME/);
  });
});

describe('normaliseAddresses and sameAddresses', () => {
  it('keeps ip and hostname only, drops empties and duplicates, sorts', () => {
    expect(
      normaliseAddresses([
        { ip: '10.0.0.2', ports: [{ port: 80 }] } as never,
        {},
        { ip: '10.0.0.1' },
        { ip: '10.0.0.2' },
        { hostname: 'a.example' },
      ]),
    ).toEqual([{ hostname: 'a.example' }, { ip: '10.0.0.1' }, { ip: '10.0.0.2' }]);
  });
  it.each([
    { a: [{ ip: '1.1.1.1' }, { ip: '2.2.2.2' }], b: [{ ip: '2.2.2.2' }, { ip: '1.1.1.1' }], same: true },
    { a: [], b: undefined, same: true },
    { a: [{ ip: '1.1.1.1' }], b: [{ hostname: '1.1.1.1' }], same: false },
    { a: [{ ip: '1.1.1.1' }], b: [{ ip: '1.1.1.1' }, { ip: '2.2.2.2' }], same: false },
  ])('$a vs $b → $same', ({ a, b, same }) => {
    expect(sameAddresses(a, b)).toBe(same);
  });
});

describe('serviceAddresses', () => {
  it.each([
    {
      what: 'load balancer status first',
      service: {
        spec: { type: 'LoadBalancer', externalIPs: ['198.51.100.1'] },
        status: {
          loadBalancer: {
            ingress: [{ hostname: 'elb.example', ipMode: 'Proxy' } as never, { ip: '203.0.113.1' }],
          },
        },
      },
      expected: [{ hostname: 'elb.example' }, { ip: '203.0.113.1' }],
    },
    {
      what: 'external IPs when no load balancer',
      service: { spec: { type: 'ClusterIP', externalIPs: ['198.51.100.2', '198.51.100.1'] }, status: {} },
      expected: [{ ip: '198.51.100.1' }, { ip: '198.51.100.2' }],
    },
    {
      what: 'ExternalName',
      service: { spec: { type: 'ExternalName', externalName: 'gw.example' } },
      expected: [{ hostname: 'gw.example' }],
    },
    {
      what: 'a pending load balancer falls back to nodes',
      service: { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } },
      expected: 'nodes',
    },
    { what: 'NodePort: nodes', service: { spec: { type: 'NodePort' } }, expected: 'nodes' },
  ])('$what', ({ service, expected }) => {
    expect(serviceAddresses(service)).toEqual(expected);
  });
});

const ready = { type: 'Ready', status: 'True' };
describe('servingNodes', () => {
  it.each<{ what: string; pods: RawPod[]; expected: string[] }>([
    {
      what: 'Running and Ready pods, distinct and sorted',
      pods: [
        { spec: { nodeName: 'n2' }, status: { phase: 'Running', conditions: [ready] } },
        { spec: { nodeName: 'n1' }, status: { phase: 'Running', conditions: [ready] } },
        { spec: { nodeName: 'n2' }, status: { phase: 'Running', conditions: [ready] } },
      ],
      expected: ['n1', 'n2'],
    },
    {
      what: 'not ready',
      pods: [
        {
          spec: { nodeName: 'n1' },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
        },
      ],
      expected: [],
    },
    {
      what: 'pending',
      pods: [{ spec: { nodeName: 'n1' }, status: { phase: 'Pending', conditions: [ready] } }],
      expected: [],
    },
    {
      what: 'being deleted',
      pods: [
        {
          metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' },
          spec: { nodeName: 'n1' },
          status: { phase: 'Running', conditions: [ready] },
        },
      ],
      expected: [],
    },
    {
      what: 'not scheduled',
      pods: [{ spec: {}, status: { phase: 'Running', conditions: [ready] } }],
      expected: [],
    },
  ])('$what', ({ pods, expected }) => {
    expect(servingNodes(pods)).toEqual(expected);
  });
});

describe('nodeAddress and labelSelector', () => {
  it.each([
    {
      addresses: [
        { type: 'InternalIP', address: '10.0.0.1' },
        { type: 'ExternalIP', address: '203.0.113.1' },
      ],
      expected: '203.0.113.1',
    },
    {
      addresses: [
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: '10.0.0.1' },
      ],
      expected: '10.0.0.1',
    },
    { addresses: [{ type: 'Hostname', address: 'n1' }], expected: undefined },
  ])('$addresses → $expected', ({ addresses, expected }) => {
    expect(nodeAddress({ status: { addresses } })).toBe(expected);
  });
  it('writes equality requirements in key order', () => {
    expect(labelSelector({ 'app.kubernetes.io/name': 'gw', app: 'x' })).toBe(
      'app=x,app.kubernetes.io/name=gw',
    );
  });
});

describe('PublishAddresses against the API server', () => {
  let api: ApiServerFixture;
  beforeEach(async () => {
    api = await ApiServerFixture.start({ tokens: { a: 'gw-a' } });
  });
  afterEach(async () => {
    expect(ungrantedCalls(api)).toEqual([]);
    await api.stop();
  });

  const service = (spec: object, status: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'gateway', namespace: 'ingress' },
    spec,
    status,
  });
  const pod = (
    name: string,
    nodeName: string,
    isReady: boolean,
    labels: Record<string, string> = { app: 'gateway' },
  ) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ingress', labels },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
  });
  const node = (name: string, addresses: { type: string; address: string }[]) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: { addresses },
  });

  it('a static list needs no call', async () => {
    const p = new PublishAddresses(clientFor(api, 'a'), {
      addresses: parsePublishStatusAddress('lb.example,192.0.2.1'),
    });
    expect(await p.refresh()).toEqual([{ hostname: 'lb.example' }, { ip: '192.0.2.1' }]);
    expect(api.requests).toHaveLength(0);
  });

  it("a LoadBalancer Service's status", async () => {
    api.apply(
      service(
        { type: 'LoadBalancer', selector: { app: 'gateway' } },
        { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
      ),
    );
    const p = new PublishAddresses(clientFor(api, 'a'), {
      service: { namespace: 'ingress', name: 'gateway' },
    });
    expect(await p.refresh()).toEqual([{ ip: '203.0.113.10' }]);
    expect(api.requests.map((r) => `${r.verb} ${r.resource}`)).toEqual(['get services']);
  });

  it('a NodePort Service: the nodes of its ready pods, ExternalIP else InternalIP', async () => {
    api.apply(service({ type: 'NodePort', selector: { app: 'gateway', tier: 'edge' } }));
    const labels = { app: 'gateway', tier: 'edge' };
    api.apply(pod('gw-1', 'node-1', true, labels));
    api.apply(pod('gw-2', 'node-2', true, labels));
    api.apply(pod('gw-3', 'node-3', false, labels));
    api.apply(pod('other', 'node-4', true, { app: 'other', tier: 'edge' }));
    api.apply(
      node('node-1', [
        { type: 'InternalIP', address: '10.0.0.1' },
        { type: 'ExternalIP', address: '203.0.113.1' },
      ]),
    );
    api.apply(node('node-2', [{ type: 'InternalIP', address: '10.0.0.2' }]));
    api.apply(node('node-3', [{ type: 'ExternalIP', address: '203.0.113.3' }]));
    api.apply(node('node-4', [{ type: 'ExternalIP', address: '203.0.113.4' }]));
    const p = new PublishAddresses(clientFor(api, 'a'), {
      service: { namespace: 'ingress', name: 'gateway' },
    });
    expect(await p.refresh()).toEqual([{ ip: '10.0.0.2' }, { ip: '203.0.113.1' }]);
    expect(
      api.requests.map(
        (r) => `${r.verb} ${r.resource} ${r.namespace ?? ''}/${r.name ?? ''} ${r.labelSelector ?? ''}`,
      ),
    ).toEqual([
      'get services ingress/gateway ',
      'list pods ingress/ app=gateway,tier=edge',
      'get nodes /node-1 ',
      'get nodes /node-2 ',
    ]);
  });

  it('a denied or missing object: a clear error once, and the last known addresses are kept', async () => {
    const log = new RecordingLogger();
    api.apply(service({ type: 'ClusterIP', externalIPs: ['198.51.100.5'] }));
    const p = new PublishAddresses(
      clientFor(api, 'a'),
      { service: { namespace: 'ingress', name: 'gateway' } },
      log,
    );
    expect(p.current()).toBeUndefined();
    expect(await p.refresh()).toEqual([{ ip: '198.51.100.5' }]);
    api.deny({ verb: 'get', resource: 'services' });
    expect(await p.refresh()).toEqual([{ ip: '198.51.100.5' }]);
    expect(await p.refresh()).toEqual([{ ip: '198.51.100.5' }]);
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]!.msg).toContain('get services ingress/gateway: 403');
    expect(log.at('error')[0]!.msg).toContain('cannot get resource "services"');
    expect(log.at('error')[0]!.obj).toMatchObject({ verb: 'get', resource: 'services', status: 403 });
    api.allow();
    api.remove('services', 'ingress', 'gateway');
    expect(await p.refresh()).toEqual([{ ip: '198.51.100.5' }]);
    expect(log.at('error')[1]!.msg).toContain('get services ingress/gateway: 404');
  });

  it('never known: undefined, so nothing gets written', async () => {
    const p = new PublishAddresses(clientFor(api, 'a'), {
      service: { namespace: 'ingress', name: 'gateway' },
    });
    expect(await p.refresh()).toBeUndefined();
  });
});
