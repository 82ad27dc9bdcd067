// A radix tree of Prefix paths. A lookup walks the request path once, comparing characters with
// `startsWith` (no regex, no split, no allocation), and remembers the deepest stored key that ends on a
// path-element boundary: that is the longest element-wise prefix.

const SLASH = 0x2f;

interface Node<T> {
  /** The characters on the edge leading to this node (empty only for the root). */
  label: string;
  /** Children by the first character code of their label. */
  children: Map<number, Node<T>> | undefined;
  hasValue: boolean;
  value: T | undefined;
}

function newNode<T>(label: string): Node<T> {
  return { label, children: undefined, hasValue: false, value: undefined };
}

/**
 * Keys are Prefix paths with one trailing slash removed (`/foo/` → `/foo`, `/` → ``). A key matches a
 * path when the path starts with it and the next character is `/` or the end: exactly when the key's
 * `/`-separated elements are a prefix of the path's elements.
 */
export class PrefixTree<T> {
  readonly #root: Node<T> = newNode('');

  /** Stores `value` under `key` unless the key is already present (first wins); returns whether stored. */
  insert(key: string, value: T): boolean {
    let node = this.#root;
    let pos = 0;
    while (pos < key.length) {
      const first = key.charCodeAt(pos);
      node.children ??= new Map();
      const child = node.children.get(first);
      if (child === undefined) {
        const leaf = newNode<T>(key.slice(pos));
        node.children.set(first, leaf);
        node = leaf;
        pos = key.length;
        break;
      }
      const common = commonPrefixLength(child.label, key, pos);
      if (common < child.label.length) {
        // Split the edge: node → middle (shared part) → child (rest of its label).
        const middle = newNode<T>(child.label.slice(0, common));
        child.label = child.label.slice(common);
        middle.children = new Map([[child.label.charCodeAt(0), child]]);
        node.children.set(first, middle);
        node = middle;
      } else {
        node = child;
      }
      pos += common;
    }
    if (node.hasValue) return false;
    node.hasValue = true;
    node.value = value;
    return true;
  }

  /** The value of the longest key that is an element-wise prefix of `path`, if any. */
  longestMatch(path: string): T | undefined {
    let node = this.#root;
    let best: T | undefined;
    let pos = 0;
    for (;;) {
      if (node.hasValue && (pos === path.length || path.charCodeAt(pos) === SLASH)) best = node.value;
      if (node.children === undefined || pos >= path.length) return best;
      const child = node.children.get(path.charCodeAt(pos));
      if (child === undefined || !path.startsWith(child.label, pos)) return best;
      pos += child.label.length;
      node = child;
    }
  }
}

function commonPrefixLength(label: string, key: string, offset: number): number {
  const max = Math.min(label.length, key.length - offset);
  let i = 0;
  while (i < max && label.charCodeAt(i) === key.charCodeAt(offset + i)) i++;
  return i;
}
