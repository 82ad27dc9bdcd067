import type { KubeObject, ServicePort } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  endpoints,
  ingress,
  path,
  resourceBackend,
  rule,
  service,
  simpleIngress,
  slice,
  snapshot,
  webService,
} from './builders.test-support.js';
import type { Endpoint } from './config.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const HTTP: ServicePort = { name: 'http', port: 80, targetPort: 8080 };
const ADMIN: ServicePort = { name: 'admin', port: 9000, targetPort: 'admin' };
const readySlice = slice('web-abc', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]);

/** The backend an Ingress for a.test / (→ `svc:port`) gets, with the diagnostics, in cluster mode or not. */
function backendOf(
  port: number | string,
  objects: KubeObject[],
  allowLoopbackExternalName = false,
  svc = 'web',
) {
  const { config, diagnostics } = translate(
    snapshot(simpleIngress('ing', 'a.test', '/', svc, port), ...objects),
    defaultTranslateOptions({ allowLoopbackExternalName }),
  );
  const backend = config.routes.match('a.test', '/')?.backend;
  const endpoints = backend === undefined ? undefined : config.endpoints.get(backend.key);
  return { backend, endpoints, diagnostics, config };
}

const eps = (e: readonly Endpoint[] | undefined) => e?.map((x) => `${x.address}:${x.port}`);

describe('backends: Service kinds all use their endpoints', () => {
  it.each([
    ['ClusterIP', service('web', { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [HTTP] })],
    ['headless', service('web', { clusterIP: 'None', ports: [HTTP] })],
    ['NodePort', service('web', { type: 'NodePort', ports: [{ ...HTTP, nodePort: 30080 }] })],
    ['LoadBalancer', service('web', { type: 'LoadBalancer', ports: [HTTP] })],
  ])('%s', (_kind, svc) => {
    const { backend: b, endpoints: e, diagnostics } = backendOf(80, [svc, readySlice]);
    expect(diagnostics).toEqual([]);
    expect(b).toEqual({
      key: 'default/web:80',
      namespace: 'default',
      service: 'web',
      portName: 'http',
      external: false,
    });
    expect(e).toEqual([{ address: '10.0.0.1', port: 8080 }]);
  });
});

describe('backends: ports', () => {
  const svc = webService('web', [HTTP, ADMIN]);
  const slices = [
    slice(
      's',
      'web',
      [{ addresses: ['10.0.0.1'] }],
      [
        { name: 'http', port: 8080 },
        { name: 'admin', port: 9090 },
      ],
    ),
  ];

  it.each([
    ['by number', 80, 'default/web:80', ['10.0.0.1:8080']],
    ['by name', 'http', 'default/web:80', ['10.0.0.1:8080']],
    ['the other port by name', 'admin', 'default/web:9000', ['10.0.0.1:9090']],
    ['the other port by number', 9000, 'default/web:9000', ['10.0.0.1:9090']],
  ] as const)('%s', (_name, port, key, expected) => {
    const { backend: b, endpoints: e } = backendOf(port, [svc, ...slices]);
    expect(b?.key).toBe(key);
    expect(eps(e)).toEqual(expected);
  });

  it('by number and by name in two Ingresses: one shared Backend', () => {
    const { config } = translate(
      snapshot(
        svc,
        ...slices,
        simpleIngress('n', 'a.test', '/', 'web', 80),
        simpleIngress('s', 'b.test', '/', 'web', 'http'),
      ),
      defaultTranslateOptions(),
    );
    expect([...config.backends.keys()]).toEqual(['default/web:80']);
    expect(config.routes.match('a.test', '/')?.backend).toBe(config.routes.match('b.test', '/')?.backend);
  });

  it.each([
    ['missing Service', 80, [], 'spec.rules[0].http.paths[0].backend.service.name'],
    ['no such port number', 81, [svc], 'spec.rules[0].http.paths[0].backend.service.port.number'],
    ['no such port name', 'grpc', [svc], 'spec.rules[0].http.paths[0].backend.service.port.name'],
  ] as const)('%s: the route stays (503) and the field is reported', (_n, port, objects, field) => {
    const { backend: b, diagnostics, config } = backendOf(port, [...objects]);
    expect(config.routes.match('a.test', '/')).toMatchObject({ ingress: 'ing', service: 'web' });
    expect(b).toBeUndefined();
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', kind: 'Ingress', name: 'ing', field }),
    ]);
    expect(config.backends.size).toBe(0);
  });

  it('a resource backend is not supported: route with no backend, warning', () => {
    const { config, diagnostics } = translate(
      snapshot(
        ingress('r', { rules: [rule('a.test', path('/', resourceBackend('StorageBucket', 'static')))] }),
      ),
      defaultTranslateOptions(),
    );
    expect(config.routes.match('a.test', '/')).toMatchObject({
      ingress: 'r',
      service: '',
      backend: undefined,
    });
    expect(diagnostics).toEqual([
      expect.objectContaining({ field: 'spec.rules[0].http.paths[0].backend.resource', severity: 'warning' }),
    ]);
  });
});

describe('backends: endpoints', () => {
  const svc = webService('web', [HTTP]);
  const table: Array<{ name: string; objects: KubeObject[]; expected: string[]; service?: KubeObject }> = [
    {
      name: 'slices merge; duplicate addresses count once; sorted',
      objects: [
        slice(
          'a',
          'web',
          [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }],
          [{ name: 'http', port: 8080 }],
        ),
        slice(
          'b',
          'web',
          [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.3'] }],
          [{ name: 'http', port: 8080 }],
        ),
      ],
      expected: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'],
    },
    {
      name: 'ready: false gets no traffic; absent ready counts as ready',
      objects: [
        slice(
          'a',
          'web',
          [
            { addresses: ['10.0.0.1'], ready: false },
            { addresses: ['10.0.0.2'], ready: true },
            { addresses: ['10.0.0.3'] },
          ],
          [{ name: 'http', port: 8080 }],
        ),
      ],
      expected: ['10.0.0.2:8080', '10.0.0.3:8080'],
    },
    {
      name: 'the slice port is the one named like the Service port',
      objects: [
        slice(
          'a',
          'web',
          [{ addresses: ['10.0.0.1'] }],
          [
            { name: 'metrics', port: 9100 },
            { name: 'http', port: 8080 },
          ],
        ),
      ],
      expected: ['10.0.0.1:8080'],
    },
    {
      name: 'a slice without that port contributes nothing',
      objects: [slice('a', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'metrics', port: 9100 }])],
      expected: [],
    },
    {
      name: 'an unnamed Service port matches an unnamed slice port',
      service: webService('web', [{ port: 80, targetPort: 8080 }]),
      objects: [slice('a', 'web', [{ addresses: ['10.0.0.1'] }], [{ port: 8080 }])],
      expected: ['10.0.0.1:8080'],
    },
    {
      name: 'slices of another Service or namespace are not used',
      objects: [
        slice('a', 'other', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]),
        slice('b', 'web', [{ addresses: ['10.0.0.2'] }], [{ name: 'http', port: 8080 }], 'IPv4', {
          namespace: 'elsewhere',
        }),
      ],
      expected: [],
    },
    {
      name: 'FQDN slices: the names are the addresses',
      objects: [
        slice('a', 'web', [{ addresses: ['db.internal.test'] }], [{ name: 'http', port: 8080 }], 'FQDN'),
      ],
      expected: ['db.internal.test:8080'],
    },
    {
      name: 'IPv6 slices',
      objects: [slice('a', 'web', [{ addresses: ['fd00::1'] }], [{ name: 'http', port: 8080 }], 'IPv6')],
      expected: ['fd00::1:8080'],
    },
    {
      name: 'no slice: the Endpoints of the same name (ready addresses, port by name)',
      objects: [
        endpoints('web', [
          {
            addresses: [{ ip: '10.0.1.1' }, { ip: '10.0.1.2' }],
            notReadyAddresses: [{ ip: '10.0.1.9' }],
            ports: [
              { name: 'http', port: 8080 },
              { name: 'admin', port: 9000 },
            ],
          },
        ]),
      ],
      expected: ['10.0.1.1:8080', '10.0.1.2:8080'],
    },
    {
      name: 'slices present: Endpoints are ignored',
      objects: [
        slice('a', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]),
        endpoints('web', [{ addresses: [{ ip: '10.0.1.1' }], ports: [{ name: 'http', port: 8080 }] }]),
      ],
      expected: ['10.0.0.1:8080'],
    },
    { name: 'neither: no endpoints (503), no diagnostic', objects: [], expected: [] },
  ];

  it.each(table)('$name', ({ objects, expected, service: s }) => {
    const { endpoints: e, diagnostics } = backendOf(80, [s ?? svc, ...objects]);
    expect(diagnostics).toEqual([]);
    expect(eps(e)).toEqual(expected);
  });
});

describe('backends: ExternalName', () => {
  const ext = (externalName: string, ports?: ServicePort[]) =>
    service('ext', { type: 'ExternalName', externalName, ...(ports === undefined ? {} : { ports }) });
  const table: Array<{
    name: string;
    port: number | string;
    svc: KubeObject;
    allow?: boolean;
    expected: string[];
  }> = [
    {
      name: 'numeric targetPort',
      port: 80,
      svc: ext('api.example.org', [{ port: 80, targetPort: 8443 }]),
      expected: ['api.example.org:8443'],
    },
    {
      name: 'named targetPort: the port',
      port: 80,
      svc: ext('api.example.org', [{ port: 80, targetPort: 'https' }]),
      expected: ['api.example.org:80'],
    },
    {
      name: 'no targetPort: the port',
      port: 'web',
      svc: ext('api.example.org', [{ name: 'web', port: 8000 }]),
      expected: ['api.example.org:8000'],
    },
    {
      name: 'no ports: the Ingress port number',
      port: 8081,
      svc: ext('api.example.org'),
      expected: ['api.example.org:8081'],
    },
    {
      name: 'loopback allowed standalone',
      port: 80,
      svc: ext('127.0.0.1'),
      allow: true,
      expected: ['127.0.0.1:80'],
    },
  ];

  it.each(table)('$name', ({ port, svc, allow, expected }) => {
    const { backend: b, endpoints: e, diagnostics } = backendOf(port, [svc], allow ?? false, 'ext');
    expect(diagnostics).toEqual([]);
    expect(b?.external).toBe(true);
    expect(eps(e)).toEqual(expected);
  });

  it.each([
    '127.0.0.1',
    '127.1',
    '::1',
    '169.254.169.254',
    'fe80::1',
    'localhost',
    '0.0.0.0',
    '::ffff:127.0.0.1',
  ])('cluster mode refuses %s: no endpoints (503), a warning on the Service', (name) => {
    const { endpoints: e, diagnostics } = backendOf(80, [ext(name)], false, 'ext');
    expect(e).toEqual([]);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        kind: 'Service',
        name: 'ext',
        field: 'spec.externalName',
        severity: 'warning',
      }),
    ]);
  });

  it('no ports and the Ingress names the port by name: reported', () => {
    const { backend: b, diagnostics } = backendOf('http', [ext('api.example.org')], false, 'ext');
    expect(b).toBeUndefined();
    expect(diagnostics).toEqual([
      expect.objectContaining({ field: 'spec.rules[0].http.paths[0].backend.service.port.name' }),
    ]);
  });
});

describe('backends: session affinity', () => {
  it.each([
    [
      'ClientIP with a timeout',
      { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
      { timeoutSeconds: 60 },
    ],
    ['ClientIP: default 10800 s', { sessionAffinity: 'ClientIP' }, { timeoutSeconds: 10800 }],
    ['None', { sessionAffinity: 'None' }, undefined],
  ] as const)('%s', (_n, spec, affinity) => {
    const { backend: b } = backendOf(80, [service('web', { ports: [HTTP], ...spec }), readySlice]);
    expect(b?.affinity).toEqual(affinity);
  });
});
