// Ingress backends → Backends: the Service port, ExternalName and affinity, and each one's endpoints.
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
import type {
  Diagnostic,
  IngressBackend,
  Service,
  ServicePort,
  Snapshot,
  SourcedObject,
} from '@gateway/manifests';
import { ObjectMemo } from '@gateway/routing';
import type { Backend, Endpoint } from './config.js';
import { diagnosticFor, indexByName, namespaceOf } from './diagnostics.js';
import { EndpointIndex } from './endpoint-table.js';
import { isLoopbackOrLinkLocal } from './loopback.js';
import type { TranslateOptions } from './options.js';

/** kube-proxy's default for `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

/** A backend that cannot be built: the field of the Ingress backend at fault (relative to it) and why. */
export interface BackendProblem {
  readonly field: string;
  readonly message: string;
}

export type BackendResolution =
  | { readonly backend: Backend; readonly problem?: undefined }
  | { readonly backend?: undefined; readonly problem: BackendProblem };

/**
 * Resolves Ingress backends against one snapshot. Backends are shared by key (`namespace/service:port`,
 * the Service port's number), so two Ingresses naming a port by number and by name get one Backend and
 * one balancer state. Problems of a Service itself (a refused ExternalName) are reported once, on it.
 */
export class BackendResolver {
  readonly #services: Map<string, SourcedObject<Service>>;
  readonly #index: EndpointIndex;
  readonly #built = new Map<string, Backend>();
  /** Endpoints of every backend built, by its key. */
  readonly endpoints = new Map<string, readonly Endpoint[]>();
  readonly #options: TranslateOptions;
  readonly #diagnostics: Diagnostic[];
  /** The last resolution, and the Service key and port it was for (see `resolve`). */
  #lastKey: string | undefined;
  #lastPort: number | string | undefined;
  #last: BackendResolution | undefined;

  constructor(snapshot: Snapshot, options: TranslateOptions, diagnostics: Diagnostic[]) {
    this.#options = options;
    this.#diagnostics = diagnostics;
    this.#services = indexByName(snapshot.services);
    this.#index = new EndpointIndex(snapshot);
  }

  /**
   * `serviceKey`: `namespace/service` of `ref`, when the caller made it once (a path of an unchanged
   * Ingress keeps its own), so 50,000 paths do not build 50,000 keys at every rebuild; `port`: the port
   * `ref` names (number or name), when the caller has it.
   */
  resolve(
    namespace: string,
    ref: IngressBackend,
    serviceKey?: string,
    port: number | string | undefined = ref.service?.port?.number ?? ref.service?.port?.name,
  ): BackendResolution {
    // The paths of an Ingress mostly name one Service port, one after the other (and share the key):
    // answered without reading `ref` (see IngressPath).
    if (serviceKey !== undefined && serviceKey === this.#lastKey && port === this.#lastPort)
      return this.#last!;
    const wanted = ref.service;
    if (wanted === undefined) return noService(ref);
    const resolution = this.#resolveNamed(namespace, wanted, serviceKey);
    this.#lastKey = serviceKey;
    this.#lastPort = port;
    this.#last = resolution;
    return resolution;
  }

  #resolveNamed(namespace: string, wanted: ServiceRef, serviceKey: string | undefined): BackendResolution {
    const key = serviceKey ?? `${namespace}/${wanted.name}`;
    const service = this.#services.get(key);
    if (service === undefined)
      return problem('service.name', `Service ${namespace}/${wanted.name} not found: 503`);
    const port = wanted.port?.number ?? wanted.port?.name;
    if (port === undefined) return resolveOn(service, wanted).resolution;
    let byPort = RESOLVED.get(service);
    if (byPort === undefined) {
      byPort = new Map();
      RESOLVED.set(service, byPort);
    }
    let resolved = byPort.get(port);
    if (resolved === undefined) {
      resolved = resolveOn(service, wanted);
      byPort.set(port, resolved);
    }
    const backend = resolved.resolution.backend;
    if (backend === undefined) return resolved.resolution;
    // Two ports of a Service may share a number (TCP and UDP): the first backend built for a key wins.
    const existing = this.#built.get(backend.key);
    if (existing === undefined) this.#register(service, key, backend, resolved.target!);
    else if (existing !== backend) return { backend: existing };
    return resolved.resolution;
  }

  /**
   * `serviceKey`: `namespace/name` of `service`; `target`: the port to connect to (ExternalName) or the
   * Service port whose endpoints to use.
   */
  #register(
    service: SourcedObject<Service>,
    serviceKey: string,
    backend: Backend,
    target: number | ServicePort,
  ): void {
    this.#built.set(backend.key, backend);
    this.endpoints.set(
      backend.key,
      typeof target === 'number'
        ? this.#externalEndpoints(service, target)
        : this.#index.endpointsOf(serviceKey, target.name ?? ''),
    );
  }

  #externalEndpoints(service: SourcedObject<Service>, port: number): Endpoint[] {
    const externalName = service.object.spec?.externalName ?? '';
    // Each port of the Service builds its own Backend: report the Service's problem once.
    if (externalName === '') {
      this.#reportOnce(service, 'spec.externalName', 'ExternalName Service without spec.externalName: 503');
      return [];
    }
    if (!this.#options.allowLoopbackExternalName && isLoopbackOrLinkLocal(externalName)) {
      this.#reportOnce(
        service,
        'spec.externalName',
        `externalName "${externalName}" is a loopback or link-local address, refused in cluster mode (CVE-2021-25740): 503`,
      );
      return [];
    }
    return [{ address: externalName, port }];
  }

  readonly #reported = new Set<string>();
  #reportOnce(service: SourcedObject<Service>, field: string, message: string): void {
    const id = `${keyOf(service)}\u0000${field}\u0000${message}`;
    if (this.#reported.has(id)) return;
    this.#reported.add(id);
    this.#diagnostics.push(diagnosticFor(service, 'warning', field, message));
  }
}

/** A resolution against one Service object and, when it built a backend, what its endpoints come from. */
interface Resolved {
  readonly resolution: BackendResolution;
  readonly target?: number | ServicePort;
}

/**
 * Resolutions by Service object and the Ingress's port (number or name): a function of the two, made
 * once per object, so an unchanged Service keeps its Backend (and the routes reaching it stay the same
 * objects, with their per-route state) across rebuilds. Its endpoints are looked up at every rebuild.
 */
const RESOLVED = new ObjectMemo<SourcedObject<Service>, Map<number | string, Resolved>>('resolved ports');

type ServiceRef = NonNullable<IngressBackend['service']>;

function noService(ref: IngressBackend): BackendResolution {
  const what = ref.resource === undefined ? 'no service' : `resource backend (${ref.resource.kind})`;
  return problem(ref.resource === undefined ? 'service' : 'resource', `${what} is not supported: 503`);
}

function resolveOn(service: SourcedObject<Service>, wanted: ServiceRef): Resolved {
  const namespace = namespaceOf(service);
  const { name, port } = wanted;
  const spec = service.object.spec ?? {};
  const ports = spec.ports ?? [];
  if (port === undefined || (port.number === undefined && port.name === undefined)) {
    return { resolution: problem('service.port', `no port of Service ${namespace}/${name} given: 503`) };
  }
  if (spec.type === 'ExternalName' && ports.length === 0) {
    // ingress-nginx: an ExternalName Service without ports is reached on the Ingress's port number.
    if (port.number === undefined) {
      return {
        resolution: problem(
          'service.port.name',
          `ExternalName Service ${namespace}/${name} lists no ports: give the port by number: 503`,
        ),
      };
    }
    return { resolution: { backend: backendOf(service, port.number, false) }, target: port.number };
  }
  const servicePort =
    port.number !== undefined
      ? ports.find((p) => p.port === port.number)
      : ports.find((p) => p.name === port.name);
  if (servicePort === undefined) {
    const field = port.number !== undefined ? 'service.port.number' : 'service.port.name';
    const wantedPort = port.number ?? `"${port.name}"`;
    return { resolution: problem(field, `Service ${namespace}/${name} has no port ${wantedPort}: 503`) };
  }
  if (spec.type === 'ExternalName') {
    return {
      resolution: { backend: backendOf(service, servicePort.port, false) },
      target: externalPort(servicePort),
    };
  }
  return { resolution: { backend: backendOf(service, servicePort.port, servicePort) }, target: servicePort };
}

/** `servicePort`: the Service port whose endpoints it uses; false for an ExternalName (no endpoints). */
function backendOf(
  service: SourcedObject<Service>,
  keyPort: number,
  servicePort: ServicePort | false,
): Backend {
  const namespace = namespaceOf(service);
  const name = service.object.metadata.name;
  const spec = service.object.spec ?? {};
  const external = servicePort === false;
  return {
    key: `${namespace}/${name}:${keyPort}`,
    namespace,
    service: name,
    portName: external ? undefined : (servicePort.name ?? ''),
    external,
    ...(spec.sessionAffinity === 'ClientIP'
      ? {
          affinity: {
            timeoutSeconds:
              spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS,
          },
        }
      : {}),
  };
}

/** ExternalName: the Service port's numeric `targetPort`, else its `port` (unset or named target). */
function externalPort(port: ServicePort): number {
  const target = port.targetPort;
  if (typeof target === 'number') return target;
  if (typeof target === 'string' && /^[0-9]+$/.test(target)) return Number(target);
  return port.port;
}

function problem(field: string, message: string): BackendResolution {
  return { problem: { field, message } };
}

function keyOf(item: SourcedObject<Service>): string {
  return `${namespaceOf(item)}/${item.object.metadata.name}`;
}
