// The fast path of parseManifests: js-yaml's event parser (no AST, no CST) with our own constructor,
// which resolves scalars exactly as `yaml`'s YAML 1.2 core schema does and keeps only what manifests
// need: the value of each document, the line it starts on (and of each `items[i]` of a List), and
// which scalars were plain (for the YAML 1.1 booleans). It answers `undefined` for anything it cannot
// read exactly as the `yaml` path would — tags, anchors and aliases, merge keys, directives, keys that
// are not strings, duplicate keys, a syntax error — and the caller then parses with `yaml` instead.
import { EVENT_ID, type Event, getScalarValue, parseEvents, SCALAR_STYLE, type ScalarEvent } from 'js-yaml';

export interface FastDocument {
  /** The document's value; `undefined` for an empty document. */
  readonly value: unknown;
  /** 1-based line of the document's root node. */
  readonly line: number | undefined;
  /** When the root is a mapping with a sequence under `items`: the line of each item. */
  readonly itemLines: readonly number[] | undefined;
}

export interface FastParse {
  readonly documents: readonly FastDocument[];
  /**
   * Whether the scalar at `container[key]` was written plain (unquoted). Answers only for the strings
   * go-yaml v2 reads as booleans (`yes`, `on`, `n`, …): the only ones anybody asks about.
   */
  readonly isPlain: (container: object, key: string | number) => boolean;
  /** False when no such string was written plain anywhere: nothing to ask `isPlain` about. */
  readonly hasPlainCandidates: boolean;
}

/** Plain scalars that YAML 1.2 reads as strings and YAML 1.1 (go-yaml v2) as booleans. */
export const YAML11_ONLY_BOOLEANS: ReadonlySet<string> = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'off',
  'Off',
  'OFF',
]);

/** Keys past this length are errors to `yaml` (YAML 1.2 §7.4: implicit keys are at most 1024 chars). */
export const MAX_KEY_LENGTH = 1024;

const NO_RANGE = -1;

/** Thrown inside the constructor to say "not for the fast path"; never escapes `fastParse`. */
class Unsupported extends Error {}

interface Frame {
  /** The container being filled; for the document frame, a holder whose `value` is the document. */
  readonly value: Record<string, unknown> | unknown[];
  readonly isMap: boolean;
  /** Mapping only: the key read, awaiting its value. */
  key: string | undefined;
  /** The line of each item, when this frame is the root mapping's `items` sequence. */
  itemLines: number[] | undefined;
  /** Where the value sits in its parent (a key or an index; `undefined` for the root). */
  readonly slot: string | number | undefined;
}

/** Parses `text`, or answers `undefined` when only the `yaml` path can read it identically. */
export function fastParse(text: string): FastParse | undefined {
  // A lone CR is a line break to YAML; lines are counted by LF alone below.
  if (text.includes('\r') && /\r(?!\n)/.test(text)) return undefined;
  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch {
    return undefined; // the `yaml` path reports the error, with its own message and line
  }
  try {
    return construct(text, events);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function construct(text: string, events: readonly Event[]): FastParse {
  const documents: FastDocument[] = [];
  const strings = new Strings();
  const plain = new WeakMap<object, Set<string | number>>();
  let hasPlainCandidates = false;
  const stack: Frame[] = [];
  // Lines by a cursor: offsets only grow, so counting LFs from the last one is linear overall.
  let lineOffset = 0;
  let lineNumber = 1;
  const lineAt = (offset: number): number => {
    if (offset < lineOffset) throw new Unsupported(); // never: events come in text order
    for (let i = text.indexOf('\n', lineOffset); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
      lineNumber++;
      lineOffset = i + 1;
    }
    if (lineOffset < offset) lineOffset = offset;
    return lineNumber;
  };

  let docValue: unknown;
  let docLine: number | undefined;
  let docItemLines: number[] | undefined;
  let inDocument = false;

  /** Adds `value` to the innermost collection (or as the document); answers where it went. */
  const add = (
    value: unknown,
    line: number | undefined,
    isPlainCandidate: boolean,
  ): string | number | undefined => {
    const frame = stack[stack.length - 1];
    if (frame === undefined) {
      docValue = value;
      docLine = line;
      return undefined;
    }
    if (frame.isMap) {
      const map = frame.value as Record<string, unknown>;
      const key = frame.key!;
      frame.key = undefined;
      map[key] = value;
      if (isPlainCandidate) {
        markPlain(plain, map, key);
        hasPlainCandidates = true;
      }
      return key;
    }
    const seq = frame.value as unknown[];
    const index = seq.length;
    if (frame.itemLines !== undefined) frame.itemLines.push(line ?? 0);
    if (isPlainCandidate) {
      markPlain(plain, seq, index);
      hasPlainCandidates = true;
    }
    seq.push(value);
    return index;
  };

  /**
   * A finished sequence, copied to an array of its own length: one grown by push keeps room for 17
   * items or more (~150 bytes for a list of one), and manifests hold many short lists.
   */
  const compact = (frame: Frame): void => {
    const seq = frame.value as unknown[];
    const copy = seq.slice();
    const marks = plain.get(seq);
    if (marks !== undefined) plain.set(copy, marks);
    const parent = stack[stack.length - 1];
    if (parent === undefined) docValue = copy;
    else (parent.value as Record<string | number, unknown>)[frame.slot!] = copy;
  };

  /** True when the next value goes to a key (not a value) of the innermost mapping. */
  const expectsKey = (): boolean => {
    const frame = stack[stack.length - 1];
    return frame?.isMap === true && frame.key === undefined;
  };

  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        // %YAML 1.1 changes the schema; %TAG changes tags: `yaml` alone reads those.
        if (event.directives.length > 0) throw new Unsupported();
        inDocument = true;
        docValue = undefined;
        docLine = undefined;
        docItemLines = undefined;
        break;
      case EVENT_ID.SCALAR: {
        if (event.anchorStart !== NO_RANGE || event.tagStart !== NO_RANGE) throw new Unsupported();
        if (expectsKey()) {
          stack[stack.length - 1]!.key = scalarKey(text, event, stack[stack.length - 1]!.value);
          break;
        }
        const source = strings.own(getScalarValue(text, event));
        const top = stack[stack.length - 1];
        const needsLine = (top === undefined || top.itemLines !== undefined) && event.valueStart !== NO_RANGE;
        const line = needsLine ? lineAt(event.valueStart) : undefined;
        if (event.style === SCALAR_STYLE.PLAIN) {
          const value = resolvePlain(source);
          add(value, line, typeof value === 'string' && YAML11_ONLY_BOOLEANS.has(value));
        } else {
          add(source, line, false);
        }
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        if (event.anchorStart !== NO_RANGE || event.tagStart !== NO_RANGE) throw new Unsupported();
        if (expectsKey()) throw new Unsupported(); // a collection as a key
        const parent = stack[stack.length - 1];
        // The root, and items of the root's `items` sequence, need their line; nothing else does.
        const needsLine = parent === undefined || parent.itemLines !== undefined;
        const line = needsLine ? lineAt(event.start) : undefined;
        const isMap = event.type === EVENT_ID.MAPPING;
        const value: Record<string, unknown> | unknown[] = isMap ? {} : [];
        let itemLines: number[] | undefined;
        if (!isMap && stack.length === 1 && parent?.isMap === true && parent.key === 'items') {
          itemLines = [];
          docItemLines = itemLines;
        }
        const slot = add(value, line, false);
        stack.push({ value, isMap, key: undefined, itemLines, slot });
        break;
      }
      case EVENT_ID.ALIAS:
        throw new Unsupported();
      case EVENT_ID.POP: {
        if (stack.length === 0) {
          if (!inDocument) throw new Unsupported();
          documents.push({ value: docValue, line: docLine, itemLines: docItemLines });
          inDocument = false;
          break;
        }
        const frame = stack.pop()!;
        if (frame.isMap && frame.key !== undefined) throw new Unsupported(); // a key without a value
        if (!frame.isMap) compact(frame);
        break;
      }
      default:
        throw new Unsupported();
    }
  }
  if (stack.length > 0 || inDocument) throw new Unsupported();
  return {
    documents,
    isPlain: (container, key) => plain.get(container)?.has(key) === true,
    hasPlainCandidates,
  };
}

/**
 * Substrings of 13 characters or more are slices that keep the whole file's text alive (V8's
 * SlicedString): each value gets a copy of its own instead, one per distinct value of the file (an
 * apiVersion or a Service name repeated across a file's objects is held once).
 */
export class Strings {
  readonly #seen = new Map<string, string>();

  own(s: string): string {
    if (s.length < 13) return this.#short(s);
    let owned = this.#seen.get(s);
    if (owned === undefined) {
      // A flat copy: the concatenation is flattened into a new string of its own, which the slice
      // then refers to (length + 1 characters, not the file).
      owned = ` ${s}`.slice(1);
      this.#seen.set(owned, owned);
    }
    return owned;
  }

  // Short substrings are copies already (V8 slices only from 13 characters); one per value still saves
  // a copy per repetition (`Prefix`, `http`, a namespace).
  #short(s: string): string {
    const seen = this.#seen.get(s);
    if (seen !== undefined) return seen;
    this.#seen.set(s, s);
    return s;
  }
}

export function markPlain(
  plain: WeakMap<object, Set<string | number>>,
  container: object,
  key: string | number,
): void {
  let keys = plain.get(container);
  if (keys === undefined) {
    keys = new Set();
    plain.set(container, keys);
  }
  keys.add(key);
}

/** A mapping key: a string, once, as a JS object can hold it — else `yaml`'s path must decide. */
function scalarKey(text: string, event: ScalarEvent, map: Record<string, unknown> | unknown[]): string {
  if (event.valueEnd - event.valueStart > MAX_KEY_LENGTH) throw new Unsupported();
  const key = getScalarValue(text, event);
  // A plain `1`, `true`, `~` or `<<` (a merge key) is not the string it looks like.
  if (event.style === SCALAR_STYLE.PLAIN && (key === '<<' || typeof resolvePlain(key) !== 'string')) {
    throw new Unsupported();
  }
  // A duplicate is an error `yaml` reports; `__proto__` would set the prototype of a plain object.
  if (key === '__proto__' || Object.hasOwn(map, key)) throw new Unsupported();
  return key;
}

// The YAML 1.2 core schema's implicit types, exactly as `yaml` 2 resolves them (schema/core/*.js).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of a plain scalar under the YAML 1.2 core schema, as `yaml` gives it. */
export function resolvePlain(source: string): unknown {
  if (source === '') return null;
  const c = source.charCodeAt(0);
  // Most scalars are names and words: only these first characters can start a non-string.
  const numeric = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46; // 0-9 + - .
  if (!numeric && c !== 126 && c !== 110 && c !== 78 && c !== 116 && c !== 84 && c !== 102 && c !== 70) {
    return source; // not ~ n N t T f F
  }
  if (NULL.test(source)) return null;
  if (BOOL.test(source)) return source[0] === 't' || source[0] === 'T';
  if (!numeric) return source;
  if (INT_OCT.test(source)) return Number.parseInt(source.substring(2), 8);
  if (INT.test(source)) return Number.parseInt(source, 10);
  if (INT_HEX.test(source)) return Number.parseInt(source.substring(2), 16);
  if (FLOAT_NAN.test(source)) {
    return source.slice(-3).toLowerCase() === 'nan'
      ? Number.NaN
      : source[0] === '-'
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  }
  if (FLOAT_EXP.test(source) || FLOAT.test(source)) return Number.parseFloat(source);
  return source;
}
