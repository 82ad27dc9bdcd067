// The members of a group that changes with every connection (the open connections, the owners of
// deadlines): an array where each member remembers its index, so add and delete are O(1) swaps.
//
// Not a Set, measured: a Set whose members come and go rehashes its table over and over, and the tables
// it leaves behind in old space still point at members that have died young. A scavenge treats those
// pointers as live (it cannot tell the old table is garbage), so every closed connection was copied and
// then promoted: with a new connection per request, ~1.5 KB promoted per connection, a mark-compact
// every ~0.4 s and p99 several times nginx's. An array's vacated slot is cleared by `pop()`.

export class MemberList<T extends object> {
  readonly #items: T[] = [];
  /** Where a member keeps its index in this list; one symbol per list, so a member can be in several. */
  readonly #slot: symbol;

  constructor(name: string) {
    this.#slot = Symbol(name);
  }

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    const i = (item as Record<symbol, number | undefined>)[this.#slot];
    return i !== undefined && i >= 0 && this.#items[i] === item;
  }

  /** Adds `item` unless it is a member already. */
  add(item: T): void {
    if (this.has(item)) return;
    (item as Record<symbol, number>)[this.#slot] = this.#items.length;
    this.#items.push(item);
  }

  /** Removes `item`; false when it was not a member. The last member takes its place. */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const slots = item as Record<symbol, number>;
    const i = slots[this.#slot] as number;
    slots[this.#slot] = -1;
    const last = this.#items.pop() as T;
    if (last !== item) {
      this.#items[i] = last;
      (last as Record<symbol, number>)[this.#slot] = i;
    }
    return true;
  }

  /**
   * Calls `fn` for each member, last first, which lets `fn` delete any member, itself included: a
   * member not yet visited is never skipped (one moved by a deletion may be visited twice; one added
   * meanwhile may be visited or not).
   */
  forEach(fn: (item: T) => void): void {
    const items = this.#items;
    for (let i = items.length - 1; i >= 0; i--) {
      if (i >= items.length) continue;
      fn(items[i] as T);
    }
  }

  /** Removes every member. */
  clear(): void {
    for (const item of this.#items) (item as Record<symbol, number>)[this.#slot] = -1;
    this.#items.length = 0;
  }
}
