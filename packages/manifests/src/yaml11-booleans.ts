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
 * Whether the string at `container[key]` (at `path` from the document's root) was a plain scalar in the
 * text: only a plain one is a boolean to go-yaml v2.
 */
export type PlainCheck = (container: object, key: string | number, path: readonly PathSegment[]) => boolean;

/** The check for a value read from a `yaml` Document: the node at that path, and its style. */
export function plainInDocument(doc: Document): PlainCheck {
  return (_container, _key, path) => {
    const node = doc.getIn(path, true);
    return isScalar(node) && node.type === Scalar.PLAIN;
  };
}

/**
 * Replaces, in `value` (the object read at `prefix` of its document), each string at a boolean-typed
 * field that go-yaml v2 would have read as a boolean. Mutates `value`; returns nothing.
 */
export function applyYaml11Booleans(
  value: unknown,
  isPlain: PlainCheck,
  prefix: readonly PathSegment[],
): void {
  if (value === null || typeof value !== 'object') return;
  const kind = (value as { kind?: unknown }).kind;
  const schema =
    typeof kind === 'string' && Object.hasOwn(strictSchemas, kind)
      ? (strictSchemas as Record<string, SchemaNode>)[kind]
      : undefined;
  if (schema === undefined) return;
  walk(value, schema, [...prefix], isPlain);
}

// `path` is one array pushed and popped along the walk: copied only when a candidate is checked.
function walk(value: object, schema: SchemaNode, path: PathSegment[], isPlain: PlainCheck): void {
  if (Array.isArray(value)) {
    const itemSchema = schema.items;
    if (itemSchema === undefined) return;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const replaced = booleanFor(value, i, item, itemSchema, path, isPlain);
      if (replaced !== undefined) value[i] = replaced;
      else if (item !== null && typeof item === 'object') {
        path.push(i);
        walk(item, itemSchema, path, isPlain);
        path.pop();
      }
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const child = record[key];
    const childSchema =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (childSchema === undefined) continue;
    const replaced = booleanFor(record, key, child, childSchema, path, isPlain);
    if (replaced !== undefined) record[key] = replaced;
    else if (child !== null && typeof child === 'object') {
      path.push(key);
      walk(child, childSchema, path, isPlain);
      path.pop();
    }
  }
}

function booleanFor(
  container: object,
  key: string | number,
  value: unknown,
  schema: SchemaNode,
  path: readonly PathSegment[],
  isPlain: PlainCheck,
): boolean | undefined {
  if (typeof value !== 'string' || schema.type !== 'boolean') return undefined;
  const parsed = YAML11_BOOLEANS.get(value);
  if (parsed === undefined) return undefined;
  return isPlain(container, key, [...path, key]) ? parsed : undefined;
}
