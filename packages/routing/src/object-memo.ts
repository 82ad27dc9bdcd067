// A value made once per object and kept exactly as long as the object: a WeakMap's meaning without what
// a WeakMap costs the collector. (In routing, the one core package every other can import.)
//
// V8 marks a WeakMap's value only once it has found the key live (an ephemeron), and finishes that in
// the atomic pause of a mark-compact. With 10,000 Ingresses five such maps, keyed by source objects,
// held 50,000 entries, and every mark-compact of the serving process paused 24-31 ms in ephemeron
// marking alone (`--trace-gc-nvp`: mark.ephemeron.marking of a 44-47 ms pause). Under a private symbol
// on the object itself the value is an ordinary edge from its key, marked with it.
export class ObjectMemo<K extends object, V> {
  readonly #slot: symbol;
  /** For keys that cannot take a property (frozen, sealed, not extensible). */
  #fallback: WeakMap<K, V> | undefined;

  constructor(description: string) {
    this.#slot = Symbol(description);
  }

  get(key: K): V | undefined {
    const own = (key as Record<symbol, V | undefined>)[this.#slot];
    if (own !== undefined || this.#fallback === undefined) return own;
    return this.#fallback.get(key);
  }

  /** Not enumerable: spreads, `Object.keys`, JSON and structured clones do not see it. */
  set(key: K, value: V): void {
    if (Object.isExtensible(key)) {
      Object.defineProperty(key, this.#slot, {
        value,
        writable: true,
        enumerable: false,
        configurable: true,
      });
      return;
    }
    this.#fallback ??= new WeakMap();
    this.#fallback.set(key, value);
  }
}
