import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './format.js';
import { validateObject } from './validate.js';

const meta = { name: 'x', namespace: 'dev' };
const ingress = (spec: unknown) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: meta,
  spec,
});
const service = (spec: unknown) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec });
const backend = { service: { name: 'web', port: { number: 80 } } };
const tlsCrt = Buffer.from('cert').toString('base64');

const valid: Array<[string, unknown]> = [
  [
    'Ingress with rules, tls and defaultBackend',
    ingress({
      ingressClassName: 'gateway',
      defaultBackend: { service: { name: 'web', port: { name: 'http' } } },
      tls: [{ hosts: ['a.example.test'], secretName: 'a-tls' }],
      rules: [
        { host: '*.example.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } },
        { http: { paths: [{ pathType: 'ImplementationSpecific', backend }] } },
      ],
    }),
  ],
  [
    'Ingress with a resource backend and annotations',
    {
      ...ingress({ defaultBackend: { resource: { apiGroup: 'k8s.example', kind: 'Bucket', name: 'b' } } }),
      metadata: { name: 'x', annotations: { 'kubernetes.io/ingress.class': 'gateway' } },
    },
  ],
  [
    'IngressClass',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'gateway', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: {
        controller: 'example.test/gateway',
        parameters: { kind: 'Config', name: 'c', scope: 'Cluster' },
      },
    },
  ],
  [
    'Service ClusterIP with named targetPort and ClientIP affinity',
    service({
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    }),
  ],
  ['Service headless', service({ clusterIP: 'None', ports: [{ port: 80, targetPort: 8080 }] })],
  ['Service NodePort', service({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })],
  [
    'Service LoadBalancer',
    service({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [{ port: 443, targetPort: 8443 }],
    }),
  ],
  ['Service ExternalName', service({ type: 'ExternalName', externalName: 'db.example.test' })],
  [
    'EndpointSlice',
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false } },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  ],
  [
    'Endpoints',
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web' },
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }],
          notReadyAddresses: [{ ip: '10.0.0.2', nodeName: 'n1' }],
          ports: [{ name: 'http', port: 8080 }],
        },
      ],
    },
  ],
  [
    'Secret kubernetes.io/tls',
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta,
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': tlsCrt, 'tls.key': tlsCrt },
    },
  ],
  [
    'Secret kubernetes.io/tls from stringData',
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta,
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': 'c', 'tls.key': 'k' },
    },
  ],
  ['Opaque Secret', { apiVersion: 'v1', kind: 'Secret', metadata: meta, data: { token: tlsCrt } }],
  [
    'object from the API server (status, managedFields, ownerReferences)',
    {
      ...ingress({
        rules: [{ host: 'a.test', http: { paths: [{ path: '/', pathType: 'Exact', backend }] } }],
      }),
      metadata: {
        ...meta,
        uid: 'u',
        resourceVersion: '12',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [
          { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
        ],
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'ou' }],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    },
  ],
  [
    'null fields count as absent (an empty YAML value)',
    ingress({ tls: null, rules: null, defaultBackend: backend }),
  ],
];

describe('validateObject accepts', () => {
  it.each(valid)('%s', (_, obj) => {
    const result = validateObject(obj, { order: 0 });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(result.object).toBeDefined();
  });
});

const invalid: Array<[string, unknown, string[]]> = [
  [
    'the seed mistake: tls host/secret',
    ingress({ tls: [{ host: ['nginx.example.test'], secret: { name: 'nginx-tls' } }] }),
    [
      'Ingress dev/x: spec.tls[0].host: unknown field "host" (did you mean "hosts"?)',
      'Ingress dev/x: spec.tls[0].secret: unknown field "secret" (did you mean "secretName"?)',
    ],
  ],
  [
    'an unknown field without a close name',
    ingress({ defaultBackend: backend, zzz: 1 }),
    ['Ingress dev/x: spec.zzz: unknown field "zzz"'],
  ],
  [
    'a transposed top-level field',
    { ...ingress({}), sepc: {} },
    ['Ingress dev/x: sepc: unknown field "sepc" (did you mean "spec"?)'],
  ],
  [
    'wrong type: port "eighty"',
    ingress({ defaultBackend: { service: { name: 'web', port: { number: 'eighty' } } } }),
    [
      'Ingress dev/x: spec.defaultBackend.service.port.number: invalid type: expected integer, got string "eighty"',
    ],
  ],
  [
    'wrong type: a Service port that is not an integer',
    service({ ports: [{ port: 80.5 }] }),
    ['Service dev/x: spec.ports[0].port: invalid type: expected integer, got number 80.5'],
  ],
  [
    'wrong type: targetPort neither string nor number',
    service({ ports: [{ port: 80, targetPort: [1] }] }),
    ['Service dev/x: spec.ports[0].targetPort: invalid type: expected string or number, got array'],
  ],
  [
    'wrong type: tls is a map',
    ingress({ tls: { hosts: ['a'] } }),
    ['Ingress dev/x: spec.tls: invalid type: expected array, got object'],
  ],
  [
    'bad enum: pathType Foo',
    ingress({ rules: [{ http: { paths: [{ path: '/', pathType: 'Foo', backend }] } }] }),
    [
      'Ingress dev/x: spec.rules[0].http.paths[0].pathType: unsupported value "Foo": must be one of "Exact", "ImplementationSpecific", "Prefix"',
    ],
  ],
  [
    'bad enum: Service type',
    service({ type: 'Internal' }),
    [
      'Service dev/x: spec.type: unsupported value "Internal": must be one of "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ],
  ],
  [
    'missing required: backend',
    ingress({ rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix' }] } }] }),
    ['Ingress dev/x: spec.rules[0].http.paths[0].backend: missing required field "backend"'],
  ],
  [
    'missing required: EndpointSlice addressType',
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, endpoints: [] },
    ['EndpointSlice dev/x: addressType: missing required field "addressType"'],
  ],
  [
    'missing metadata.name',
    { ...ingress({}), metadata: { namespace: 'dev' } },
    ['Ingress: metadata.name: missing required field "name"'],
  ],
  [
    'wrong apiVersion',
    {
      ...ingress({ backend: { serviceName: 'a', servicePort: 80 } }),
      apiVersion: 'networking.k8s.io/v1beta1',
    },
    [
      'Ingress dev/x: apiVersion: unsupported apiVersion "networking.k8s.io/v1beta1" for Ingress: expected "networking.k8s.io/v1"',
    ],
  ],
  ['missing kind', { apiVersion: 'v1', metadata: meta }, ['x: kind: missing required field "kind"']],
  [
    'TLS Secret without tls.key',
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta,
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': tlsCrt },
    },
    ['Secret dev/x: data["tls.key"]: missing required key "tls.key" for a Secret of type kubernetes.io/tls'],
  ],
  [
    'Secret data that is not base64',
    { apiVersion: 'v1', kind: 'Secret', metadata: meta, data: { token: 'not base64!' } },
    ['Secret dev/x: data.token: invalid value: not valid base64'],
  ],
  [
    'unknown field in metadata',
    { ...ingress({}), metadata: { ...meta, label: { a: 'b' } } },
    ['Ingress dev/x: metadata.label: unknown field "label" (did you mean "labels"?)'],
  ],
];

describe('validateObject rejects', () => {
  it.each(invalid)('%s', (_, obj, expected) => {
    const result = validateObject(obj, { order: 0 });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual(expected);
    expect(result.diagnostics.every((d) => d.severity === 'error')).toBe(true);
    expect(result.object).toBeUndefined();
  });
});

describe('validateObject normalises', () => {
  it('defaults the namespace of namespaced kinds only, without touching its input', () => {
    const input = { ...service({ ports: [{ port: 80 }] }), metadata: { name: 's' } };
    expect(validateObject(input, { order: 0 }).object?.metadata.namespace).toBe('default');
    expect(input.metadata).toEqual({ name: 's' });
    const cls = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' } };
    expect(validateObject(cls, { order: 0 }).object?.metadata.namespace).toBeUndefined();
  });

  it('merges stringData into data as base64, as the API server does', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta,
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': tlsCrt, 'tls.key': 'b2xk' },
      stringData: { 'tls.key': 'new' },
    };
    expect(validateObject(secret, { order: 0 }).object).toMatchObject({
      data: { 'tls.crt': tlsCrt, 'tls.key': Buffer.from('new').toString('base64') },
    });
    expect(validateObject(secret, { order: 0 }).object).not.toHaveProperty('stringData');
  });

  it('keeps an object with nothing to normalise as it is, not a copy (an informer holds it already)', () => {
    const input = service({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    expect(validateObject(input, { order: 0 }).object).toBe(input);
  });

  it("drops nulls and applies defaults on a copy, leaving its input and the input's branches alone", () => {
    const ports = [{ port: 80 }];
    const input = { ...service({ ports, clusterIP: null }), status: { loadBalancer: {} } };
    const object = validateObject(input, { order: 0 }).object as unknown as typeof input;
    expect(object.spec).toEqual({
      ports: [{ port: 80, protocol: 'TCP' }],
      type: 'ClusterIP',
      sessionAffinity: 'None',
    });
    expect(input.spec).toEqual({ ports: [{ port: 80 }], clusterIP: null });
    expect(ports).toEqual([{ port: 80 }]);
  });

  it('rejects kinds it does not read', () => {
    const result = validateObject(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta },
      { order: 0, file: 'f.yaml' },
    );
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'f.yaml: ConfigMap dev/x: kind: unsupported kind "ConfigMap": expected one of Ingress, IngressClass, Service, EndpointSlice, Endpoints, Secret',
    ]);
  });
});
