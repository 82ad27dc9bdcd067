// Types of the Kubernetes objects the gateway reads, as validated manifests. Only the fields the
// gateway uses are typed; validation (see validate.ts) checks every field against the API schema.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339; the oldest Ingress wins a conflict. Absent in a file: see `SourceRef.order`. */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServiceBackendPort {
  name?: string;
  number?: number;
}
export interface IngressBackend {
  service?: { name: string; port?: ServiceBackendPort };
  resource?: { apiGroup?: string; kind: string; name: string };
}
export interface HTTPIngressPath {
  path?: string;
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  backend: IngressBackend;
}
export interface IngressRule {
  host?: string;
  http?: { paths: HTTPIngressPath[] };
}
export interface IngressTLS {
  hosts?: string[];
  secretName?: string;
}
export interface Ingress {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'Ingress';
  metadata: ObjectMeta;
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: IngressTLS[];
    rules?: IngressRule[];
  };
}

export interface IngressClass {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'IngressClass';
  metadata: ObjectMeta;
  spec?: { controller?: string; parameters?: unknown };
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}
export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec?: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    clusterIP?: string;
    externalName?: string;
    ports?: ServicePort[];
    selector?: Record<string, string>;
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  };
}

export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta; // label kubernetes.io/service-name names the Service
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    hostname?: string;
    nodeName?: string;
    zone?: string;
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }>;
}

export interface Endpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: ObjectMeta; // same name as the Service
  subsets?: Array<{
    addresses?: Array<{ ip: string; hostname?: string; nodeName?: string }>;
    notReadyAddresses?: Array<{ ip: string; hostname?: string; nodeName?: string }>;
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  }>;
}

export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  /** base64 values, as in the API. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export type KubeObject = Ingress | IngressClass | Service | EndpointSlice | Endpoints | Secret;
export type Kind = KubeObject['kind'];

/** Where an object came from: a file and line (standalone) or the API server (cluster). */
export interface SourceRef {
  file?: string;
  line?: number;
  /** Order of appearance; stands in for creationTimestamp when a manifest has none. */
  order: number;
}

export interface SourcedObject<T extends KubeObject = KubeObject> {
  object: T;
  source: SourceRef;
}

export type Severity = 'error' | 'warning';

/** A problem attached to one object (or one file) and one field; never an exception. */
export interface Diagnostic {
  severity: Severity;
  file?: string;
  line?: number;
  /** e.g. `Ingress`; absent when a document could not be read as an object at all. */
  kind?: string;
  namespace?: string;
  name?: string;
  /** e.g. `spec.tls[0].host` */
  field?: string;
  message: string;
}

/** An immutable set of objects from one source, the input of translate(). */
export interface Snapshot {
  readonly ingresses: readonly SourcedObject<Ingress>[];
  readonly ingressClasses: readonly SourcedObject<IngressClass>[];
  readonly services: readonly SourcedObject<Service>[];
  readonly endpointSlices: readonly SourcedObject<EndpointSlice>[];
  readonly endpoints: readonly SourcedObject<Endpoints>[];
  readonly secrets: readonly SourcedObject<Secret>[];
}
