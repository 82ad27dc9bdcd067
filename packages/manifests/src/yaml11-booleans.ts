// kubectl reads manifests with sigs.k8s.io/yaml, i.e. go-yaml v2, whose plain scalars resolve as YAML 1.1
// booleans: `ready: yes` is true there, a string to a YAML 1.2 parser. Where the schema wants a boolean,
// give such a plain (unquoted) scalar the value kubectl would; a quoted "yes" stays a string, as there.
import { type Document, isScalar, Scalar } from 'yaml';
import type { PathSegment } from './field-path.js';
import strictSchemas from './strict-schemas.generated.json' with { type: 'json' };

/** go-yaml v2's resolve table (resolve.go): the plain scalars it reads as booleans. */
const YAML11_BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map(
    (s) => [s, false] as const,
  ),
]);

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
}

/**
 * Replaces, in `value` (the object read from `doc` at `prefix`), each string at a boolean-typed field
 * that go-yaml v2 would have read as a boolean. Mutates `value`; returns nothing.
 */
export function applyYaml11Booleans(value: unknown, doc: Document, prefix: readonly PathSegment[]): void {
  if (value === null || typeof value !== 'object') return;
  const kind = (value as { kind?: unknown }).kind;
  const schema =
    typeof kind === 'string' && Object.hasOwn(strictSchemas, kind)
      ? (strictSchemas as Record<string, SchemaNode>)[kind]
      : undefined;
  if (schema === undefined) return;
  walk(value, schema, [...prefix], doc);
}

function walk(value: unknown, schema: SchemaNode, path: PathSegment[], doc: Document): void {
  if (Array.isArray(value)) {
    if (schema.items === undefined) return;
    value.forEach((item, i) => {
      const replaced = booleanFor(item, schema.items!, [...path, i], doc);
      if (replaced !== undefined) value[i] = replaced;
      else walk(item, schema.items!, [...path, i], doc);
    });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(record)) {
    const childSchema =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (childSchema === undefined) continue;
    const replaced = booleanFor(child, childSchema, [...path, key], doc);
    if (replaced !== undefined) record[key] = replaced;
    else walk(child, childSchema, [...path, key], doc);
  }
}

function booleanFor(
  value: unknown,
  schema: SchemaNode,
  path: PathSegment[],
  doc: Document,
): boolean | undefined {
  if (typeof value !== 'string' || schema.type !== 'boolean') return undefined;
  const parsed = YAML11_BOOLEANS.get(value);
  if (parsed === undefined) return undefined;
  const node = doc.getIn(path, true);
  return isScalar(node) && node.type === Scalar.PLAIN ? parsed : undefined;
}
