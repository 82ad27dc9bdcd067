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

  constructor(snapshot: Snapshot, options: TranslateOptions, diagnostics: Diagnostic[]) {
    this.#options = options;
    this.#diagnostics = diagnostics;
    this.#services = indexByName(snapshot.services);
    this.#index = new EndpointIndex(snapshot);
  }

  /** Resolutions by namespace, Service name, then port (number, or name): many paths share one. */
  readonly #resolved = new Map<string, Map<string, Map<number | string, BackendResolution>>>();

  resolve(namespace: string, ref: IngressBackend): BackendResolution {
    const service = ref.service;
    const port = service?.port?.number ?? service?.port?.name;
    if (service === undefined || port === undefined) return this.#resolve(namespace, ref);
    let byName = this.#resolved.get(namespace);
    if (byName === undefined) {
      byName = new Map();
      this.#resolved.set(namespace, byName);
    }
    let byPort = byName.get(service.name);
    if (byPort === undefined) {
      byPort = new Map();
      byName.set(service.name, byPort);
    }
    const known = byPort.get(port);
    if (known !== undefined) return known;
    const resolution = this.#resolve(namespace, ref);
    byPort.set(port, resolution);
    return resolution;
  }

  #resolve(namespace: string, ref: IngressBackend): BackendResolution {
    if (ref.service === undefined) {
      const what = ref.resource === undefined ? 'no service' : `resource backend (${ref.resource.kind})`;
      return problem(ref.resource === undefined ? 'service' : 'resource', `${what} is not supported: 503`);
    }
    const { name, port } = ref.service;
    const service = this.#services.get(`${namespace}/${name}`);
    if (service === undefined) return problem('service.name', `Service ${namespace}/${name} not found: 503`);
    const spec = service.object.spec ?? {};
    const ports = spec.ports ?? [];
    if (port === undefined || (port.number === undefined && port.name === undefined)) {
      return problem('service.port', `no port of Service ${namespace}/${name} given: 503`);
    }

    if (spec.type === 'ExternalName' && ports.length === 0) {
      // ingress-nginx: an ExternalName Service without ports is reached on the Ingress's port number.
      if (port.number === undefined) {
        return problem(
          'service.port.name',
          `ExternalName Service ${namespace}/${name} lists no ports: give the port by number: 503`,
        );
      }
      return { backend: this.#build(service, port.number, port.number) };
    }

    const servicePort =
      port.number !== undefined
        ? ports.find((p) => p.port === port.number)
        : ports.find((p) => p.name === port.name);
    if (servicePort === undefined) {
      const field = port.number !== undefined ? 'service.port.number' : 'service.port.name';
      const wanted = port.number ?? `"${port.name}"`;
      return problem(field, `Service ${namespace}/${name} has no port ${wanted}: 503`);
    }
    if (spec.type === 'ExternalName') {
      return { backend: this.#build(service, servicePort.port, externalPort(servicePort)) };
    }
    return { backend: this.#build(service, servicePort.port, servicePort) };
  }

  /** `target`: the port to connect to (ExternalName) or the Service port whose endpoints to use. */
  #build(service: SourcedObject<Service>, keyPort: number, target: number | ServicePort): Backend {
    const namespace = namespaceOf(service);
    const name = service.object.metadata.name;
    const key = `${namespace}/${name}:${keyPort}`;
    const existing = this.#built.get(key);
    if (existing !== undefined) return existing;
    const spec = service.object.spec ?? {};
    const external = typeof target === 'number';
    const backend: Backend = {
      key,
      namespace,
      service: name,
      portName: external ? undefined : (target.name ?? ''),
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
    this.#built.set(key, backend);
    this.endpoints.set(
      key,
      external
        ? this.#externalEndpoints(service, target)
        : this.#index.endpointsOf(`${namespace}/${name}`, target.name ?? ''),
    );
    return backend;
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
