// Ingress backends → Backends: the Service port, its ready endpoints, ExternalName and affinity.
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/
import type {
  Diagnostic,
  EndpointSlice,
  Endpoints,
  IngressBackend,
  Service,
  ServicePort,
  Snapshot,
  SourcedObject,
} from '@gateway/manifests';
import type { Backend, Endpoint } from './config.js';
import { diagnosticFor, indexByName, namespaceOf } from './diagnostics.js';
import { compareStrings } from './ingress-order.js';
import { isLoopbackOrLinkLocal } from './loopback.js';
import type { TranslateOptions } from './options.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
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
  readonly #slices = new Map<string, SourcedObject<EndpointSlice>[]>();
  readonly #endpoints: Map<string, SourcedObject<Endpoints>>;
  readonly #built = new Map<string, Backend>();
  readonly #options: TranslateOptions;
  readonly #diagnostics: Diagnostic[];

  constructor(snapshot: Snapshot, options: TranslateOptions, diagnostics: Diagnostic[]) {
    this.#options = options;
    this.#diagnostics = diagnostics;
    this.#services = indexByName(snapshot.services);
    this.#endpoints = indexByName(snapshot.endpoints);
    for (const item of snapshot.endpointSlices) {
      const service = item.object.metadata.labels?.[SERVICE_NAME_LABEL];
      if (service === undefined) continue;
      const key = `${namespaceOf(item)}/${service}`;
      const list = this.#slices.get(key);
      if (list === undefined) this.#slices.set(key, [item]);
      else list.push(item);
    }
  }

  resolve(namespace: string, ref: IngressBackend): BackendResolution {
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
      endpoints: external ? this.#externalEndpoints(service, target) : this.#podEndpoints(service, target),
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

  /**
   * Ready endpoints of the EndpointSlices labelled with the Service's name (merged, deduplicated), else of
   * the Endpoints object of the same name; the endpoint port is the one named like the Service port.
   */
  #podEndpoints(service: SourcedObject<Service>, servicePort: ServicePort): Endpoint[] {
    const key = keyOf(service);
    const portName = servicePort.name ?? '';
    const found = new Map<string, Endpoint>();
    const add = (address: string, port: number): void => {
      found.set(`${address}\u0000${port}`, { address, port });
    };
    const slices = this.#slices.get(key);
    if (slices !== undefined) {
      for (const { object } of slices) {
        const port = object.ports?.find((p) => (p.name ?? '') === portName)?.port;
        if (port === undefined) continue;
        for (const endpoint of object.endpoints ?? []) {
          // An absent `ready` means ready (the API: "unknown state ... should be interpreted as ready").
          if (endpoint.conditions?.ready === false) continue;
          for (const address of endpoint.addresses) add(address, port);
        }
      }
    } else {
      for (const subset of this.#endpoints.get(key)?.object.subsets ?? []) {
        const port = subset.ports?.find((p) => (p.name ?? '') === portName)?.port;
        if (port === undefined) continue;
        for (const address of subset.addresses ?? []) add(address.ip, port);
      }
    }
    return [...found.values()].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
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

function keyOf(item: SourcedObject<Service | Endpoints>): string {
  return `${namespaceOf(item)}/${item.object.metadata.name}`;
}
