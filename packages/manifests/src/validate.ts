// Strict validation of the six kinds we read, like `kubectl --validate=strict`. Two compiled validators
// per kind:
// - a strict JSON schema (src/strict-schemas.generated.json, derived from kubernetes-models'
//   declarations by scripts/generate-schemas.mjs) compiled by ajv ahead of time into
//   src/strict-validators.generated.js (scripts/generate-validators.mjs): unknown fields, required
//   fields, enums, JSON types;
// - kubernetes-models' own precompiled validator (bundled into src/model-validators.generated.js with
//   the formats of src/model-formats.ts): what the declarations cannot say (integer vs number,
//   int32/int64 ranges, base64 of Secret data).
// Then what no schema says: metadata.name, the keys of a kubernetes.io/tls Secret.
import type { ErrorObject } from 'ajv';
import { applyApiDefaults, needsApiDefaults } from './api-defaults.js';
import { didYouMean } from './did-you-mean.js';
import { formatPath, type PathSegment, pointerSegments } from './field-path.js';
import * as modelValidators from './model-validators.generated.js';
import * as strictValidators from './strict-validators.generated.js';
import type { Diagnostic, Kind, KubeObject, SourceRef } from './types.js';

/** Line of the YAML node at a field path (the deepest node found), when the object came from a file. */
export type LocateField = (segments: readonly PathSegment[]) => number | undefined;

export interface ValidationResult {
  /** The normalised object (namespace defaulted, nulls dropped, Secret stringData merged into data). */
  object?: KubeObject;
  diagnostics: Diagnostic[];
}

/** A compiled validator: ajv's and kubernetes-models' both say what failed in `errors`. */
type CompiledValidate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

interface KindValidator {
  readonly apiVersion: string;
  readonly strict: CompiledValidate;
  readonly model: CompiledValidate;
}

function compile(kind: Kind, apiVersion: string): [Kind, KindValidator] {
  const strict = (strictValidators as Record<Kind, unknown>)[kind] as CompiledValidate;
  const model = (modelValidators as Record<Kind, unknown>)[kind] as CompiledValidate;
  return [kind, { apiVersion, strict, model }];
}

const validators: ReadonlyMap<string, KindValidator> = new Map([
  compile('Ingress', 'networking.k8s.io/v1'),
  compile('IngressClass', 'networking.k8s.io/v1'),
  compile('Service', 'v1'),
  compile('EndpointSlice', 'discovery.k8s.io/v1'),
  compile('Endpoints', 'v1'),
  compile('Secret', 'v1'),
]);

/** Kinds the gateway reads; others in the same files are skipped. */
export function isReadKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && validators.has(kind);
}

/** IngressClass is cluster-scoped: it has no namespace, and none is defaulted. */
export function isNamespaced(kind: string): boolean {
  return kind !== 'IngressClass';
}

/**
 * Validates one object of a kind we read (from a file or from the API server: `status` and every
 * ObjectMeta field are allowed). An invalid object is not returned.
 */
export function validateObject(obj: unknown, source: SourceRef): ValidationResult {
  return validateAt(obj, source);
}

/**
 * `owned`: `obj` was built for this call alone (a parse that shares no node between objects), so
 * defaults and normalisation may be written into it instead of into a copy.
 */
export function validateAt(
  obj: unknown,
  source: SourceRef,
  locate?: LocateField,
  owned = false,
): ValidationResult {
  const diagnostics: Diagnostic[] = [];
  const raw = isRecord(obj) ? obj : undefined;
  const kind = typeof raw?.kind === 'string' ? raw.kind : undefined;
  const metadata = isRecord(raw?.metadata) ? raw.metadata : undefined;
  const name = typeof metadata?.name === 'string' && metadata.name !== '' ? metadata.name : undefined;
  const namespace =
    kind !== undefined && isNamespaced(kind)
      ? typeof metadata?.namespace === 'string' && metadata.namespace !== ''
        ? metadata.namespace
        : 'default'
      : undefined;
  const report = (segments: readonly PathSegment[], message: string, at = segments) => {
    const line = locate?.(at) ?? source.line;
    const d: Diagnostic = { severity: 'error', message };
    if (source.file !== undefined) d.file = source.file;
    if (line !== undefined) d.line = line;
    if (kind !== undefined) d.kind = kind;
    if (namespace !== undefined && name !== undefined) d.namespace = namespace;
    if (name !== undefined) d.name = name;
    if (segments.length > 0) d.field = formatPath(segments);
    diagnostics.push(d);
  };

  if (raw === undefined) {
    report([], `expected a Kubernetes object (a mapping with apiVersion and kind), got ${describe(obj)}`);
    return { diagnostics };
  }
  if (raw.kind === undefined) {
    report(['kind'], 'missing required field "kind"', []);
    return { diagnostics };
  }
  const validator = kind === undefined ? undefined : validators.get(kind);
  if (validator === undefined) {
    report(
      ['kind'],
      `unsupported kind ${JSON.stringify(raw.kind)}: expected one of ${[...validators.keys()].join(', ')}`,
    );
    return { diagnostics };
  }
  if (raw.apiVersion !== validator.apiVersion) {
    // Checking a v1beta1 object against the v1 schema would only add noise: report the version alone.
    report(
      ['apiVersion'],
      raw.apiVersion === undefined
        ? `missing required field "apiVersion" (expected "${validator.apiVersion}")`
        : `unsupported apiVersion ${JSON.stringify(raw.apiVersion)} for ${kind}: expected "${validator.apiVersion}"`,
      raw.apiVersion === undefined ? [] : ['apiVersion'],
    );
    return { diagnostics };
  }

  // Objects from the API server have no nulls and nothing to default: they are validated and kept as
  // they are, not copied (a cluster's objects are held once, by the informer, not twice).
  let data = withoutNulls(raw) as Record<string, unknown>;
  if (needsApiDefaults(data, kind as string) || needsNormalising(data, kind as Kind)) {
    if (!owned) data = structuredClone(data); // its branches may still be the caller's
    applyApiDefaults(data, kind as string);
  }
  const reported = new Set<string>();
  const reportSchemaError = (e: ErrorObject) => {
    const path = pointerSegments(e.instancePath, data);
    const { segments, message, at } = describeError(e, path, data);
    const key = formatPath(segments);
    if (reported.has(key)) return;
    reported.add(key);
    report(segments, message, at);
  };
  // kubernetes-models first: its types are the API's (integer, not number). Where it reports a oneOf
  // (IntOrString), its branch errors are noise: the strict schema says "string or number" there.
  if (!validator.model(data)) {
    const errors = validator.model.errors ?? [];
    const oneOf = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
    for (const e of errors) if (!oneOf.has(e.instancePath)) reportSchemaError(e);
  }
  if (!validator.strict(data)) for (const e of validator.strict.errors ?? []) reportSchemaError(e);

  const meta = isRecord(data.metadata) ? data.metadata : undefined;
  if (meta?.name === undefined || meta.name === '') {
    report(['metadata', 'name'], 'missing required field "name"');
  }
  if (kind === 'Secret' && data.type === 'kubernetes.io/tls') checkTlsSecret(data, report);

  if (diagnostics.length > 0) {
    diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    return { diagnostics };
  }
  return { object: normalise(data, kind as Kind), diagnostics };
}

function checkTlsSecret(
  secret: Record<string, unknown>,
  report: (segments: readonly PathSegment[], message: string, at?: readonly PathSegment[]) => void,
): void {
  const data = isRecord(secret.data) ? secret.data : {};
  const stringData = isRecord(secret.stringData) ? secret.stringData : {};
  for (const key of ['tls.crt', 'tls.key']) {
    if (!(key in data) && !(key in stringData)) {
      report(['data', key], `missing required key "${key}" for a Secret of type kubernetes.io/tls`, [
        secret.data === undefined && secret.stringData !== undefined ? 'stringData' : 'data',
      ]);
    }
  }
}

function needsNormalising(data: Record<string, unknown>, kind: Kind): boolean {
  const metadata = data.metadata as Record<string, unknown> | undefined;
  return (
    (isNamespaced(kind) &&
      isRecord(metadata) &&
      (metadata.namespace === undefined || metadata.namespace === '')) ||
    (kind === 'Secret' && data.stringData !== undefined)
  );
}

// What the API server does on write: defaults the namespace, merges stringData into data (base64).
// `data` is a copy here whenever this changes anything (needsNormalising).
function normalise(data: Record<string, unknown>, kind: Kind): KubeObject {
  const metadata = data.metadata as Record<string, unknown>;
  if (isNamespaced(kind) && (metadata.namespace === undefined || metadata.namespace === '')) {
    metadata.namespace = 'default';
  }
  if (kind === 'Secret' && isRecord(data.stringData)) {
    const merged: Record<string, unknown> = isRecord(data.data) ? { ...data.data } : {};
    for (const [key, value] of Object.entries(data.stringData)) {
      merged[key] = Buffer.from(String(value), 'utf8').toString('base64');
    }
    data.data = merged;
    delete data.stringData;
  }
  return data as unknown as KubeObject;
}

function describeError(
  e: ErrorObject,
  path: PathSegment[],
  data: unknown,
): { segments: PathSegment[]; message: string; at: PathSegment[] } {
  const value = valueAt(data, path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = didYouMean(field, allowed);
      const message = `unknown field "${field}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
      return { segments: [...path, field], message, at: [...path, field] };
    }
    case 'required': {
      const field = String(e.params.missingProperty);
      return { segments: [...path, field], message: `missing required field "${field}"`, at: path };
    }
    case 'type': {
      const expected = ([] as string[]).concat(e.params.type as string | string[]).join(' or ');
      return {
        segments: path,
        message: `invalid type: expected ${expected}, got ${describe(value)}`,
        at: path,
      };
    }
    case 'enum':
    case 'const': {
      const allowed = (e.keyword === 'enum' ? e.params.allowedValues : [e.params.allowedValue]) as unknown[];
      const list = allowed.map((v) => JSON.stringify(v)).join(', ');
      return {
        segments: path,
        message: `unsupported value ${JSON.stringify(value)}: must be one of ${list}`,
        at: path,
      };
    }
    case 'format': {
      const format = String(e.params.format);
      const message =
        format === 'byte'
          ? 'invalid value: not valid base64'
          : format === 'int32' || format === 'int64'
            ? `invalid value ${describe(value)}: out of range for ${format}`
            : `invalid value ${describe(value)}: not a valid ${format}`;
      return { segments: path, message, at: path };
    }
    default:
      return { segments: path, message: e.message ?? `failed ${e.keyword} check`, at: path };
  }
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/**
 * `value` without null-valued fields (the API server treats `field: null`, an empty YAML value, as
 * unset): `value` itself when it has none, else a copy of the branches that do.
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = withoutNulls(value[i]);
      if (v === value[i]) continue;
      out ??= value.slice();
      out[i] = v;
    }
    return out ?? value;
  }
  if (!isRecord(value)) return value;
  let changed = false;
  for (const key in value) {
    const v = value[key];
    if (v === null || (typeof v === 'object' && withoutNulls(v) !== v)) {
      changed = true;
      break;
    }
  }
  if (!changed) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null) out[key] = withoutNulls(v);
  return out;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
