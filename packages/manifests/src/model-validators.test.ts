// The bundled kubernetes-models validators are what scripts/generate-validators.mjs makes of the
// installed kubernetes-models, and judge every object as kubernetes-models' own modules do (with
// @kubernetes-models/validate's formats) while using only the formats of model-formats.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate as endpointsModel } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Endpoints';
import { validate as secretModel } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret';
import { validate as serviceModel } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as endpointSliceModel } from 'kubernetes-models/_schemas/IoK8sApiDiscoveryV1EndpointSlice';
import { validate as ingressModel } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress';
import { validate as ingressClassModel } from 'kubernetes-models/_schemas/IoK8sApiNetworkingV1IngressClass';
import { describe, expect, it } from 'vitest';
import { formats } from './model-formats.js';
import * as bundled from './model-validators.generated.js';

type Validate = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; keyword: string; params: unknown }[] | null;
};

const GENERATOR = '../scripts/generate-validators.mjs';
const GENERATED = fileURLToPath(new URL('./model-validators.generated.js', import.meta.url));

const originals: Record<string, unknown> = {
  Ingress: ingressModel,
  IngressClass: ingressClassModel,
  Service: serviceModel,
  EndpointSlice: endpointSliceModel,
  Endpoints: endpointsModel,
  Secret: secretModel,
};

const meta = (extra: Record<string, unknown> = {}) => ({ name: 'a', namespace: 'default', ...extra });
const service = (port: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta(),
  spec: { ports: [{ port, targetPort: 8080, ...extra }] },
});
const secret = (data: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: meta(),
  type: 'Opaque',
  data,
});
const ingress = (metadata: Record<string, unknown>, port: unknown = 80) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: meta(metadata),
  spec: {
    rules: [
      {
        host: 'a.example.test',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: port } } } },
          ],
        },
      },
    ],
  },
});
const slice = (port: unknown) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: meta({ labels: { 'kubernetes.io/service-name': 's' } }),
  addressType: 'IPv4',
  ports: [{ port }],
  endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
});

const cases: Array<[string, string, unknown]> = [
  ['Service', 'a valid port', service(80)],
  ['Service', 'a port past int32', service(2 ** 31)],
  ['Service', 'a fractional port', service(80.5)],
  ['Service', 'a named targetPort', service(80, { targetPort: 'http' })],
  ['Service', 'a port as a string', service('80')],
  ['Secret', 'base64 data', secret({ 'tls.crt': 'aGVsbG8=' })],
  ['Secret', 'data that is not base64', secret({ 'tls.crt': 'not base64!' })],
  ['Secret', 'base64 without its padding', secret({ a: 'aGVsbG8' })],
  ['Ingress', 'an RFC 3339 creationTimestamp', ingress({ creationTimestamp: '2026-12-04T01:00:00Z' })],
  ['Ingress', 'a creationTimestamp that is no date', ingress({ creationTimestamp: 'yesterday' })],
  ['Ingress', 'February 30th', ingress({ creationTimestamp: '2026-02-30T01:00:00Z' })],
  ['Ingress', 'an int64 generation', ingress({ generation: 2 ** 40 })],
  ['Ingress', 'a fractional generation', ingress({ generation: 1.5 })],
  ['Ingress', 'a backend port past int32', ingress({}, 2 ** 32)],
  ['EndpointSlice', 'a valid port', slice(8080)],
  ['EndpointSlice', 'a port that is a string', slice('8080')],
  ['EndpointSlice', 'a port past int32', slice(-(2 ** 31) - 1)],
  [
    'Endpoints',
    'a subset with a fractional port',
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: meta(),
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 1.25 }] }],
    },
  ],
  [
    'IngressClass',
    'parameters of a kind',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'c', deletionGracePeriodSeconds: 0.5 },
      spec: { controller: 'k8s.io/ingress-gateway', parameters: { kind: 'K', name: 'p' } },
    },
  ],
];

const verdict = (validate: Validate, data: unknown) => {
  const valid = validate(data);
  const errors = (validate.errors ?? []).map(
    (e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`,
  );
  return { valid, errors };
};

describe('model-validators.generated.js', () => {
  it('is what generate-validators makes of the installed kubernetes-models', async () => {
    const { modelValidatorModuleSource } = (await import(GENERATOR)) as {
      modelValidatorModuleSource(): Promise<string>;
    };
    expect(readFileSync(GENERATED, 'utf8') === (await modelValidatorModuleSource())).toBe(true);
  });

  it('imports nothing but model-formats.js, and only formats it defines', () => {
    const text = readFileSync(GENERATED, 'utf8');
    const imports = [...text.matchAll(/\bfrom\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(['./model-formats.js']));
    const used = [...text.matchAll(/=\s*formats\d*(?:\.(\w+)|\["([^"]+)"\])/g)].map((m) => m[1] ?? m[2]);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(Object.keys(formats)).toContain(name);
  });

  it.each(cases)('%s with %s: the same verdict and errors as kubernetes-models', (kind, _what, data) => {
    const ours = verdict((bundled as Record<string, unknown>)[kind] as Validate, data);
    const theirs = verdict(originals[kind] as Validate, data);
    expect(ours).toEqual(theirs);
  });

  it('tells the cases apart: the table has valid and invalid objects of each format', () => {
    const outcomes = cases.map(([kind, , data]) =>
      ((bundled as Record<string, unknown>)[kind] as Validate)(data),
    );
    expect(outcomes.filter((v) => v).length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((v) => !v).length).toBeGreaterThanOrEqual(10);
  });
});
