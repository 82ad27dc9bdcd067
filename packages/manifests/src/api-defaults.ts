// What the API server fills in on write for the fields we validate with enums, so a manifest kubectl
// would accept is accepted here: an empty string and an absent field default alike (SetDefaults_Service,
// SetDefaults_Endpoints in k8s.io/kubernetes pkg/apis/core/v1/defaults.go).
// Not EndpointSlice port protocols: there the field is a pointer, only an absent one defaults
// (pkg/apis/discovery/v1/defaults.go), and the API server rejects `protocol: ""` — so do we.

/** True when applyApiDefaults would change `data`: only then does it need a copy. */
export function needsApiDefaults(data: Record<string, unknown>, kind: string): boolean {
  if (kind === 'Service' && isRecord(data.spec)) {
    const spec = data.spec;
    if (spec.type === undefined || spec.type === '') return true;
    if (spec.sessionAffinity === undefined || spec.sessionAffinity === '') return true;
    if (Array.isArray(spec.ports) && spec.ports.some(needsProtocol)) return true;
  }
  if (kind === 'Endpoints' && Array.isArray(data.subsets)) {
    for (const subset of data.subsets) {
      if (isRecord(subset) && Array.isArray(subset.ports) && subset.ports.some(needsProtocol)) return true;
    }
  }
  return false;
}

function needsProtocol(port: unknown): boolean {
  return isRecord(port) && (port.protocol === undefined || port.protocol === '');
}

/** Mutates `data` (an object of `kind`, already a copy) in place. */
export function applyApiDefaults(data: Record<string, unknown>, kind: string): void {
  if (kind === 'Service' && isRecord(data.spec)) {
    const spec = data.spec;
    if (spec.type === undefined || spec.type === '') spec.type = 'ClusterIP';
    if (spec.sessionAffinity === undefined || spec.sessionAffinity === '') spec.sessionAffinity = 'None';
    if (Array.isArray(spec.ports)) for (const port of spec.ports) defaultProtocol(port);
  }
  if (kind === 'Endpoints' && Array.isArray(data.subsets)) {
    for (const subset of data.subsets) {
      if (isRecord(subset) && Array.isArray(subset.ports))
        for (const port of subset.ports) defaultProtocol(port);
    }
  }
}

function defaultProtocol(port: unknown): void {
  if (isRecord(port) && (port.protocol === undefined || port.protocol === '')) port.protocol = 'TCP';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
