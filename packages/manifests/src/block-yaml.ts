// The fastest path of parseManifests: a line-by-line reader of the block subset of YAML that manifests
// are mostly written in (and that `kubectl get -o yaml` and our generators write): block mappings and
// sequences, one-line plain, single- and double-quoted scalars, `[]` and `{}`, comments, `---`/`...`.
// It builds the values directly, resolving plain scalars as `yaml`'s core schema does (resolvePlain),
// and answers `undefined` at the first thing outside that subset — a block or multi-line scalar, a
// flow collection with content, an escape, a tab, a CR, an anchor, alias, tag, directive, `?` key, merge
// key, non-string or duplicate key, an indentation it does not expect — so that the js-yaml path
// (fast-yaml.ts), and after it `yaml`, read the file instead.
import {
  type FastDocument,
  type FastParse,
  MAX_KEY_LENGTH,
  markPlain,
  resolvePlain,
  Strings,
  YAML11_ONLY_BOOLEANS,
} from './fast-yaml.js';

/** Thrown to decline; never escapes `blockParse`. */
class Decline extends Error {}

interface Frame {
  /** Column of the keys (mapping) or of the `-` (sequence). */
  readonly indent: number;
  readonly value: Record<string, unknown> | unknown[];
  readonly isMap: boolean;
  /** A key (mapping) or an item (sequence, `-` alone) whose value is on the lines below. */
  pending: string | number | undefined;
  /** Lines of the items, for the root mapping's `items` sequence. */
  readonly itemLines: number[] | undefined;
  /** Where the value sits: the parent frame and the key or index (none for the root). */
  readonly parent: Frame | undefined;
  readonly slot: string | number | undefined;
}

const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DQUOTE = 34;
const SQUOTE = 39;

/** Characters that cannot start a plain scalar (YAML 1.2 §7.3.3 c-indicator), or that we leave alone. */
const NOT_PLAIN_START = new Set([...'[]{},#&*!|>\'"%@`?:-'].map((c) => c.charCodeAt(0)));

/** Parses `text`, or answers `undefined` when it is not of the subset read here. */
export function blockParse(text: string): FastParse | undefined {
  // Tabs (indentation or separation), CR line ends, a byte order mark, escapes: the other paths.
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff || text.includes('\\')) {
    return undefined;
  }
  try {
    return new BlockReader(text).read();
  } catch (error) {
    if (error instanceof Decline) return undefined;
    throw error;
  }
}

class BlockReader {
  readonly #documents: FastDocument[] = [];
  readonly #strings = new Strings();
  readonly #plain = new WeakMap<object, Set<string | number>>();
  #hasPlainCandidates = false;
  readonly #stack: Frame[] = [];
  #root: unknown;
  #rootLine: number | undefined;
  #rootItemLines: number[] | undefined;
  #inDocument = false;

  constructor(private readonly text: string) {}

  read(): FastParse {
    const text = this.text;
    let line = 0;
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      line++;
      this.#line(start, end, line);
      start = end + 1;
    }
    this.#endDocument();
    const plain = this.#plain;
    return {
      documents: this.#documents,
      isPlain: (container, key) => plain.get(container)?.has(key) === true,
      hasPlainCandidates: this.#hasPlainCandidates,
    };
  }

  #line(start: number, end: number, line: number): void {
    const text = this.text;
    let pos = start;
    while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
    if (pos === end || text.charCodeAt(pos) === HASH) return; // blank, or a comment line
    const indent = pos - start;
    if (indent === 0) {
      const c = text.charCodeAt(pos);
      if (c === 37) throw new Decline(); // % directive
      if ((c === DASH || c === 46) && this.#marker(pos, end)) return;
    }
    this.#content(pos, end, indent, line);
  }

  /** `---` or `...` at column 0 (a comment may follow): ends or starts a document. */
  #marker(pos: number, end: number): boolean {
    const text = this.text;
    const three = text.startsWith('---', pos) ? '---' : text.startsWith('...', pos) ? '...' : undefined;
    if (three === undefined) return false;
    const after = pos + 3;
    if (after < end && text.charCodeAt(after) !== SPACE) return false; // `---x`: content
    if (!this.#onlyComment(after, end)) throw new Decline(); // `--- a`: content on the marker's line
    this.#endDocument();
    if (three === '---') this.#inDocument = true;
    return true;
  }

  #onlyComment(pos: number, end: number): boolean {
    const text = this.text;
    while (pos < end && text.charCodeAt(pos) === SPACE) pos++;
    return pos === end || text.charCodeAt(pos) === HASH;
  }

  #endDocument(): void {
    if (this.#stack.length > 0 || this.#root !== undefined) {
      while (this.#stack.length > 0) this.#close(); // a `key:` or `-` left at the end is null
      this.#documents.push({ value: this.#root, line: this.#rootLine, itemLines: this.#rootItemLines });
    } else if (this.#inDocument) {
      this.#documents.push({ value: undefined, line: undefined, itemLines: undefined });
    }
    this.#root = undefined;
    this.#rootLine = undefined;
    this.#rootItemLines = undefined;
    this.#inDocument = false;
  }

  #content(pos: number, end: number, indent: number, line: number): void {
    const text = this.text;
    const isItem = text.charCodeAt(pos) === DASH && (pos + 1 === end || text.charCodeAt(pos + 1) === SPACE);
    let top = this.#stack[this.#stack.length - 1];

    if (top === undefined) {
      if (this.#root !== undefined) throw new Decline(); // content after a finished root
      // The root: a mapping or a sequence (a scalar document is left to the other paths).
      const frame = this.#open(indent, !isItem, undefined, undefined, undefined);
      this.#root = frame.value;
      this.#rootLine = line;
      top = frame;
    } else if (top.pending !== undefined) {
      // The value of a `key:` or `-` above: a nested collection, or nothing (null).
      if (indent > top.indent || (isItem && top.isMap && indent === top.indent)) {
        const parent = top;
        const slot = parent.pending!;
        parent.pending = undefined;
        // The root mapping's `items` sequence: the line of each item is the line of its object.
        const itemLines =
          this.#stack.length === 1 && parent.isMap && slot === 'items' && isItem ? [] : undefined;
        const frame = this.#open(indent, !isItem, itemLines, parent, slot);
        if (itemLines !== undefined) this.#rootItemLines = itemLines;
        this.#set(parent, slot, frame.value, line, false);
        top = frame;
      } else {
        this.#set(top, top.pending, null, line, false);
        top.pending = undefined;
      }
    }

    // Close what this line's indentation ends.
    while (top.indent > indent) {
      this.#close();
      top = this.#stack[this.#stack.length - 1]!;
      if (top === undefined) throw new Decline(); // less indented than the root
      if (top.pending !== undefined) throw new Decline(); // never: a pending frame has no open child
    }
    if (!isItem && !top.isMap && top.indent === indent) {
      // An indentless sequence under a key ends where its mapping goes on.
      this.#close();
      top = this.#stack[this.#stack.length - 1]!;
      if (top === undefined || !top.isMap) throw new Decline();
    }
    if (top.indent !== indent || top.isMap === isItem) throw new Decline();

    if (isItem) this.#item(top, pos, end, line);
    else this.#entry(top, pos, end, line);
  }

  #open(
    indent: number,
    isMap: boolean,
    itemLines: number[] | undefined,
    parent: Frame | undefined,
    slot: string | number | undefined,
  ): Frame {
    const value = isMap ? {} : [];
    const frame: Frame = { indent, value, isMap, pending: undefined, itemLines, parent, slot };
    this.#stack.push(frame);
    return frame;
  }

  #close(): void {
    const frame = this.#stack.pop()!;
    if (frame.pending !== undefined) this.#set(frame, frame.pending, null, 0, false);
    frame.pending = undefined;
    if (!frame.isMap) this.#compact(frame);
  }

  /**
   * A finished sequence, copied to an array of its own length: one grown by push keeps room for 17
   * items or more (~150 bytes for a list of one), and manifests hold many short lists.
   */
  #compact(frame: Frame): void {
    const seq = frame.value as unknown[];
    const copy = seq.slice();
    const marks = this.#plain.get(seq);
    if (marks !== undefined) this.#plain.set(copy, marks);
    const parent = frame.parent;
    if (parent === undefined) this.#root = copy;
    else if (parent.isMap) (parent.value as Record<string, unknown>)[frame.slot as string] = copy;
    else (parent.value as unknown[])[frame.slot as number] = copy;
  }

  /** `- …` at the sequence's column. */
  #item(seq: Frame, pos: number, end: number, line: number): void {
    const text = this.text;
    let p = pos + 1;
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    const index = (seq.value as unknown[]).length;
    if (p === end || text.charCodeAt(p) === HASH) {
      seq.pending = index; // `-` alone: the item is below (or null), set before the next one
      return;
    }
    if (text.charCodeAt(p) === DASH && (p + 1 === end || text.charCodeAt(p + 1) === SPACE)) {
      throw new Decline(); // `- - a`
    }
    const colon = this.#keyEnd(p, end);
    if (colon !== -1) {
      // `- key: value`: a mapping whose keys are at the column of this first one.
      const map = this.#open(seq.indent + (p - pos), true, undefined, seq, index);
      this.#set(seq, index, map.value, line, false);
      this.#entry(map, p, end, line);
      return;
    }
    const { value, plain } = this.#scalar(p, end);
    this.#set(seq, index, value, line, plain);
  }

  /** `key: value` or `key:` at the mapping's column. */
  #entry(map: Frame, pos: number, end: number, line: number): void {
    const colon = this.#keyEnd(pos, end);
    if (colon === -1) throw new Decline(); // a scalar where a key belongs (a multi-line scalar?)
    const key = this.#key(pos, colon);
    const record = map.value as Record<string, unknown>;
    if (key === '__proto__' || key === '<<' || Object.hasOwn(record, key)) throw new Decline();
    const text = this.text;
    let p = colon + 1;
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    if (p === end || text.charCodeAt(p) === HASH) {
      map.pending = key; // set before any next key is read: the mapping's order is kept
      return;
    }
    const { value, plain } = this.#scalar(p, end);
    this.#set(map, key, value, line, plain);
  }

  /**
   * The colon ending the key that starts at `pos` (a `:` followed by a space or the line's end), or -1
   * when the line is not `key: …`. Quoted keys end at their closing quote.
   */
  #keyEnd(pos: number, end: number): number {
    const text = this.text;
    const c = text.charCodeAt(pos);
    if (c === DQUOTE || c === SQUOTE) {
      const close = indexOn(text, c, pos + 1, end);
      if (close === -1) throw new Decline();
      if (c === SQUOTE && text.charCodeAt(close + 1) === SQUOTE) throw new Decline(); // '' inside a key
      let p = close + 1;
      while (p < end && text.charCodeAt(p) === SPACE) p++;
      if (text.charCodeAt(p) !== COLON) return -1;
      if (p + 1 < end && text.charCodeAt(p + 1) !== SPACE) throw new Decline();
      return p;
    }
    for (let p = pos; p < end; p++) {
      const ch = text.charCodeAt(p);
      // ` #` before any `: `: the rest is a comment, and there is no key.
      if (ch === HASH && text.charCodeAt(p - 1) === SPACE) return -1;
      if (ch === COLON && (p + 1 === end || text.charCodeAt(p + 1) === SPACE)) return p;
    }
    return -1;
  }

  #key(pos: number, colon: number): string {
    const text = this.text;
    const c = text.charCodeAt(pos);
    if (colon - pos > MAX_KEY_LENGTH) throw new Decline();
    if (c === DQUOTE || c === SQUOTE) {
      return this.#strings.own(text.slice(pos + 1, indexOn(text, c, pos + 1, colon)));
    }
    if (NOT_PLAIN_START.has(c)) throw new Decline();
    let last = colon;
    while (last > pos && text.charCodeAt(last - 1) === SPACE) last--;
    const key = text.slice(pos, last);
    if (typeof resolvePlain(key) !== 'string') throw new Decline(); // `80:`, `true:`, `~:`
    return key; // a property name: V8 keeps its own copy
  }

  /** A one-line scalar from `pos` to the line's end (a comment may follow). */
  #scalar(pos: number, end: number): { value: unknown; plain: boolean } {
    const text = this.text;
    const c = text.charCodeAt(pos);
    if (c === DQUOTE || c === SQUOTE) {
      let close = indexOn(text, c, pos + 1, end);
      let value: string;
      if (c === SQUOTE) {
        // `''` is a quote inside single quotes.
        let s = '';
        let from = pos + 1;
        while (close !== -1 && text.charCodeAt(close + 1) === SQUOTE) {
          s += text.slice(from, close + 1);
          from = close + 2;
          close = indexOn(text, SQUOTE, from, end);
        }
        if (close === -1) throw new Decline(); // multi-line, or unterminated
        value = s + text.slice(from, close);
      } else {
        if (close === -1) throw new Decline();
        value = text.slice(pos + 1, close);
      }
      if (!this.#onlyComment(close + 1, end)) throw new Decline();
      if (close + 1 < end && text.charCodeAt(close + 1) === HASH) throw new Decline(); // `"x"#c`
      return { value: this.#strings.own(value), plain: false };
    }
    if (c === 91 || c === 123) {
      // `[]` or `{}` only.
      if (text.charCodeAt(pos + 1) !== (c === 91 ? 93 : 125) || !this.#onlyComment(pos + 2, end)) {
        throw new Decline();
      }
      if (pos + 2 < end && text.charCodeAt(pos + 2) === HASH) throw new Decline();
      return { value: c === 91 ? [] : {}, plain: false };
    }
    if (NOT_PLAIN_START.has(c) && !(c === DASH && pos + 1 < end && text.charCodeAt(pos + 1) !== SPACE)) {
      throw new Decline(); // indicators; a `-x` or `-1` is plain
    }
    // Plain: to a ` #` comment or the line's end, trailing spaces dropped.
    let stop = end;
    for (let p = pos + 1; p < end; p++) {
      if (text.charCodeAt(p) === HASH && text.charCodeAt(p - 1) === SPACE) {
        stop = p;
        break;
      }
    }
    while (stop > pos && text.charCodeAt(stop - 1) === SPACE) stop--;
    const source = text.slice(pos, stop);
    // `a: b: c` is an error; a `: ` or a trailing `:` inside a plain value is left to the others.
    if (source.includes(': ') || source.endsWith(':')) throw new Decline();
    const value = resolvePlain(source);
    if (typeof value !== 'string') return { value, plain: false };
    return { value: this.#strings.own(value), plain: YAML11_ONLY_BOOLEANS.has(value) };
  }

  /** Sets a mapping's key, or a sequence's next item (`slot` is then its length). */
  #set(frame: Frame, slot: string | number, value: unknown, line: number, plain: boolean): void {
    if (frame.isMap) (frame.value as Record<string, unknown>)[slot as string] = value;
    else (frame.value as unknown[]).push(value);
    if (frame.itemLines !== undefined && typeof slot === 'number') frame.itemLines[slot] = line;
    if (plain) {
      markPlain(this.#plain, frame.value, slot);
      this.#hasPlainCandidates = true;
    }
  }
}

/** The index of `code` in `text` from `from` before `end` (the line's end), or -1: never past the line. */
function indexOn(text: string, code: number, from: number, end: number): number {
  for (let p = from; p < end; p++) if (text.charCodeAt(p) === code) return p;
  return -1;
}
