// Builders of Kubernetes objects for the translate tables: short to write, close to the YAML they stand for.
import type {
  EndpointSlice,
  Endpoints,
  HTTPIngressPath,
  Ingress,
  IngressBackend,
  IngressClass,
  IngressRule,
  IngressTLS,
  KubeObject,
  ObjectMeta,
  Secret,
  Service,
  ServicePort,
  Snapshot,
  SourcedObject,
} from '@gateway/manifests';
import type { Route } from './config.js';

type Meta = Partial<ObjectMeta>;
const meta = (name: string, m: Meta = {}): ObjectMeta => ({ namespace: 'default', ...m, name });

export function ingress(name: string, spec: NonNullable<Ingress['spec']>, m: Meta = {}): Ingress {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta(name, m), spec };
}

/** `backend('web', 80)` or `backend('web', 'http')`. */
export function backend(service: string, port: number | string): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function path(
  p: string | undefined,
  to: IngressBackend,
  pathType: HTTPIngressPath['pathType'] = 'Prefix',
): HTTPIngressPath {
  return { ...(p === undefined ? {} : { path: p }), pathType, backend: to };
}

export function rule(host: string | undefined, ...paths: HTTPIngressPath[]): IngressRule {
  return { ...(host === undefined ? {} : { host }), http: { paths } };
}

export function tls(secretName: string | undefined, ...hosts: string[]): IngressTLS {
  return { ...(secretName === undefined ? {} : { secretName }), ...(hosts.length > 0 ? { hosts } : {}) };
}

/** An Ingress with one rule: `host` (or none), `path` (Prefix) → `service:port`. */
export function simpleIngress(
  name: string,
  host: string | undefined,
  p: string,
  service: string,
  port: number | string = 80,
  m: Meta = {},
): Ingress {
  return ingress(name, { rules: [rule(host, path(p, backend(service, port)))] }, m);
}

export function ingressClass(name: string, controller: string, isDefault = false): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    spec: { controller },
  };
}

export function service(name: string, spec: NonNullable<Service['spec']>, m: Meta = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(name, m), spec };
}

/** A ClusterIP Service with one port `80` named `http` targeting 8080. */
export function webService(
  name = 'web',
  ports: ServicePort[] = [{ name: 'http', port: 80, targetPort: 8080 }],
): Service {
  return service(name, { type: 'ClusterIP', clusterIP: '10.96.0.10', ports });
}

export interface SliceEndpoint {
  addresses: string[];
  ready?: boolean;
}

export function slice(
  name: string,
  serviceName: string,
  endpoints: SliceEndpoint[],
  ports: Array<{ name?: string; port?: number }>,
  addressType: EndpointSlice['addressType'] = 'IPv4',
  m: Meta = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(name, { ...m, labels: { 'kubernetes.io/service-name': serviceName } }),
    addressType,
    endpoints: endpoints.map(({ addresses, ready }) => ({
      addresses,
      ...(ready === undefined ? {} : { conditions: { ready } }),
    })),
    ports,
  };
}

export function endpoints(name: string, subsets: NonNullable<Endpoints['subsets']>, m: Meta = {}): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: meta(name, m), subsets };
}

// A real pair, since translate parses and checks TLS Secrets: self-signed EC P-256 for a.test and *.a.test,
// valid 2024-01-01T00:00:00Z to 2034-01-01T00:00:00Z (made with selfsigned 5.5.0).
export const CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIBNjCB3qADAgECAgl0poeIE4YepyUwCgYIKoZIzj0EAwIwETEPMA0GA1UEAxMG
YS50ZXN0MB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAwMDAwMFowETEPMA0GA1UE
AxMGYS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqwxg9YVpfxxyIM7q
sP1Xow0wbPm2nbbI9QX1qRNVFmk6MthfdvzXNPwTT8IPYH25opN617yg46HXt2Je
P1g1yKMfMB0wGwYDVR0RBBQwEoIGYS50ZXN0gggqLmEudGVzdDAKBggqhkjOPQQD
AgNHADBEAiALDSRtObTi3ClvzMIQ4Wkmj2EBPWlVNAIhCBli6oDAXwIgdl3UJDf+
TbSY6Xw7DwMtAN9wEjezU41IHT+pyTyLPds=
-----END CERTIFICATE-----
`;
export const KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/NvisHR3KoTrHrls
Qz9RV6lVwtPdCHy8H3Hi7c0yObChRANCAASrDGD1hWl/HHIgzuqw/VejDTBs+bad
tsj1BfWpE1UWaToy2F92/Nc0/BNPwg9gfbmik3rXvKDjode3Yl4/WDXI
-----END PRIVATE KEY-----
`;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A `kubernetes.io/tls` Secret with `data` (base64), as the API returns it. */
export function tlsSecret(name: string, cert = CERT_PEM, key = KEY_PEM, m: Meta = {}): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(name, m),
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(cert), 'tls.key': b64(key) },
  };
}

export function secret(name: string, fields: Pick<Secret, 'data' | 'stringData'>, m: Meta = {}): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(name, m), type: 'kubernetes.io/tls', ...fields };
}

/** Objects as a source delivers them: `source.order` is the position, `file` a fake name. */
export function sourced(objects: readonly KubeObject[]): SourcedObject[] {
  return objects.map((object, order) => ({
    object,
    source: { file: 'test.yaml', line: order * 10 + 1, order },
  }));
}

/** A snapshot of the objects, each sorted into its kind, in the order given. */
export function snapshotOf(items: readonly SourcedObject[]): Snapshot {
  const of = <K extends KubeObject['kind']>(kind: K) =>
    items.filter((i) => i.object.kind === kind) as SourcedObject<Extract<KubeObject, { kind: K }>>[];
  return {
    ingresses: of('Ingress'),
    ingressClasses: of('IngressClass'),
    services: of('Service'),
    endpointSlices: of('EndpointSlice'),
    endpoints: of('Endpoints'),
    secrets: of('Secret'),
  };
}

export function snapshot(...objects: KubeObject[]): Snapshot {
  return snapshotOf(sourced(objects));
}

/** What a request reaches, in short: `namespace/ingress → backend key` (`503` when no backend), or 404. */
export function hit(
  config: { routes: { match(h: string, p: string): Route | undefined } },
  host: string,
  p: string,
): string {
  const route = config.routes.match(host, p);
  if (route === undefined) return '404';
  return `${route.namespace}/${route.ingress} → ${route.backend?.key ?? '503'}${route.tlsRedirect ? ' (308)' : ''}`;
}

export function resourceBackend(kind: string, name: string): IngressBackend {
  return { resource: { apiGroup: 'k8s.example.com', kind, name } };
}
