// Multi-document YAML (or JSON) → objects of the kinds we read, each with its file, line and order.
import { type Document, isMap, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { blockParse } from './block-yaml.js';
import { type FastParse, fastParse } from './fast-yaml.js';
import type { PathSegment } from './field-path.js';
import type { Diagnostic, SourcedObject } from './types.js';
import { isReadKind, isRecord, type LocateField, validateAt } from './validate.js';
import { applyYaml11Booleans, plainInDocument } from './yaml11-booleans.js';

export interface ParseResult {
  objects: SourcedObject[];
  diagnostics: Diagnostic[];
}

/**
 * Parses a file of Kubernetes manifests. Objects of other kinds (Deployment, ConfigMap, …) are skipped;
 * `kind: List` (and `IngressList`, …) is expanded; invalid objects are reported and left out.
 * `order` counts the returned objects from `firstOrder`, so the next file starts at
 * `firstOrder + objects.length`.
 */
export function parseManifests(text: string, file: string, firstOrder = 0): ParseResult {
  // The block subset first (most manifests), then js-yaml's events, then `yaml` for the rest.
  const fast = blockParse(text) ?? fastParse(text);
  return (fast && fromFastParse(fast, file, firstOrder)) ?? parseWithYaml(text, file, firstOrder);
}

/**
 * The objects of a file the fast path read, when every one of them is valid. Any diagnostic sends the
 * whole file to `parseWithYaml`, so that every message carries the line of its field, worded the same.
 */
function fromFastParse(parsed: FastParse, file: string, firstOrder: number): ParseResult | undefined {
  const objects: SourcedObject[] = [];
  let order = firstOrder;
  const take = (obj: unknown, prefix: readonly PathSegment[], line: number | undefined): boolean => {
    if (isRecord(obj) && obj.kind !== undefined && !isReadKind(obj.kind)) return true;
    if (parsed.hasPlainCandidates) applyYaml11Booleans(obj, parsed.isPlain, prefix);
    // Owned: the fast path builds every object afresh and shares no node (it declines aliases).
    const result = validateAt(obj, { file, line, order }, undefined, true);
    if (result.object === undefined || result.diagnostics.length > 0) return false;
    objects.push({ object: result.object, source: { file, line, order: order++ } });
    return true;
  };
  for (const doc of parsed.documents) {
    const value = doc.value;
    if (value === null || value === undefined) continue; // an empty document
    if (isRecord(value) && isList(value)) {
      const items = value.items as unknown[];
      for (let index = 0; index < items.length; index++) {
        if (!take(items[index], ['items', index], doc.itemLines?.[index] ?? doc.line)) return undefined;
      }
    } else if (!take(value, [], doc.line)) {
      return undefined;
    }
  }
  return { objects, diagnostics: [] };
}

/** The `yaml` library's full path: a Document per document, every node with its range. */
export function parseWithYaml(text: string, file: string, firstOrder: number): ParseResult {
  const objects: SourcedObject[] = [];
  const diagnostics: Diagnostic[] = [];
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, merge: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  let order = firstOrder;

  for (const doc of documents) {
    for (const warning of doc.warnings) {
      diagnostics.push(yamlDiagnostic('warning', file, warning.message, warning.linePos?.[0].line));
    }
    if (doc.errors.length > 0) {
      // The first error only: the next ones are mostly its echoes.
      const error = doc.errors[0]!;
      diagnostics.push(yamlDiagnostic('error', file, error.message, error.linePos?.[0].line));
      continue;
    }
    if (doc.contents === null) continue; // an empty document (or only comments)
    const docLine = nodeLine(doc.contents, lineAt);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      diagnostics.push(yamlDiagnostic('error', file, (error as Error).message, docLine));
      continue;
    }
    if (value === null || value === undefined) continue; // `---` followed by nothing
    const locate = locator(doc, lineAt);
    const isPlain = plainInDocument(doc);

    const take = (obj: unknown, prefix: readonly PathSegment[]) => {
      // Other kinds live in the same files: skip them silently. A missing kind is an error (validateAt).
      if (isRecord(obj) && obj.kind !== undefined && !isReadKind(obj.kind)) return;
      applyYaml11Booleans(obj, isPlain, prefix);
      const line = locate(prefix) ?? docLine;
      const result = validateAt(obj, { file, line, order }, (segments) => locate([...prefix, ...segments]));
      diagnostics.push(...result.diagnostics);
      if (result.object !== undefined)
        objects.push({ object: result.object, source: { file, line, order: order++ } });
    };

    if (isRecord(value) && isList(value)) {
      const items = value.items as unknown[];
      for (let index = 0; index < items.length; index++) take(items[index], ['items', index]);
    } else {
      take(value, []);
    }
  }
  return { objects, diagnostics };
}

function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function yamlDiagnostic(
  severity: Diagnostic['severity'],
  file: string,
  message: string,
  line: number | undefined,
): Diagnostic {
  // yaml's messages end with " at line L, column C:" and a code excerpt; we give file:line ourselves.
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column (\d+):?$/, ' (column $1)');
  const d: Diagnostic = { severity, file, message: `YAML: ${first}` };
  if (line !== undefined) d.line = line;
  return d;
}

function nodeLine(node: Node, lineAt: (offset: number) => number): number | undefined {
  return node.range ? lineAt(node.range[0]) : undefined;
}

// Walks the YAML nodes along a field path and answers the line of the deepest node found (a map key's
// line for a field), so a diagnostic points at the offending field, or at its parent when it is missing.
function locator(doc: Document, lineAt: (offset: number) => number): LocateField {
  return (segments) => {
    let node: unknown = doc.contents;
    let line = isNode(node) ? nodeLine(node, lineAt) : undefined;
    for (const segment of segments) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isNode(p.key) && String((p.key as { value?: unknown }).value) === segment,
        );
        if (pair === undefined) break;
        if (isNode(pair.key)) line = nodeLine(pair.key, lineAt) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (!isNode(node)) break;
        line = nodeLine(node, lineAt) ?? line;
      } else {
        break;
      }
    }
    return line;
  };
}

function isNode(value: unknown): value is Node {
  return value !== null && typeof value === 'object' && 'range' in value;
}
