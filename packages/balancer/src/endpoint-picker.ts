// Which endpoint serves a request: round robin per backend, or ClientIP affinity when the Service asks.
// State is keyed by `backend.key`, so it survives config swaps that rebuild every object.
//
// Affinity and several worker processes (`--workers N`): each worker has its own table, and one client's
// connections land on different workers. So a client's first pick is not round robin (which depends on
// what the worker saw before) but a rendezvous hash of (client IP, endpoint) over the endpoints offered:
// every worker that sees the same endpoints picks the same one for that client, on its own. The table
// then keeps the pin, with Kubernetes' timeout, while the endpoint stays in the list (an endpoint added
// later does not move a pinned client, as with kube-proxy); an expired or gone pin is re-picked by the
// same hash, so workers agree again.

/** One address a backend can be reached at; structurally translate's `Endpoint`. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** What picking needs of a backend; structurally translate's `Backend`. */
export interface BalancedBackend {
  /** Stable across reloads (`namespace/service:port`). */
  readonly key: string;
  /** The Service's `sessionAffinity: ClientIP`. */
  readonly affinity?: { readonly timeoutSeconds: number };
}

export interface EndpointPickerOptions {
  /** Clock in milliseconds; injected for tests. Default `Date.now`. */
  readonly now?: () => number;
  /** Bound on the ClientIP affinity table; the least recently used entry goes first. */
  readonly maxAffinityEntries?: number;
  /**
   * This process among `count` worker processes; default `{ index: 0, count: 1 }`. Worker `index`
   * takes positions index, index + count, index + 2·count… of one round robin over the endpoints
   * (shifted by one each cycle when count and the endpoints share a factor, so each worker still visits
   * all). Where the workers take fresh connections in turn (node:cluster's round robin, the default)
   * their requests so go round robin over the endpoints as with one process; where the kernel spreads
   * connections (SO_REUSEPORT, --reuse-port) each worker goes round robin on its own, as nginx's workers
   * do, and the workers start on different endpoints.
   */
  readonly worker?: { readonly index: number; readonly count: number };
}

/** Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;
export const DEFAULT_MAX_AFFINITY_ENTRIES = 100_000;

/** Expired entries removed from the front of the table per new pin: amortised O(1), never a long pause. */
const SWEEP_STEP = 8;

/**
 * A hit moves its entry to the end of the table at most this often: a Map delete+set costs ~2 µs
 * against ~20 ns for a lookup, so the table's order is least-recently-used to within a second.
 */
const REORDER_INTERVAL_MS = 1000;

/** The key `exclude` uses for an endpoint. */
export function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}

interface Pin {
  readonly backend: string;
  endpointKey: string;
  /** Where the endpoint was last seen in the list: checked first, so a stable list needs no scan. */
  index: number;
  lastUsed: number;
  /** When the entry was last moved to the end of the table. */
  movedAt: number;
  timeoutMs: number;
}

export class EndpointPicker {
  private readonly now: () => number;
  private readonly maxAffinityEntries: number;
  private readonly workerIndex: number;
  private readonly workerCount: number;
  /**
   * Per backend, this process's next pick number (one process: the next position itself); positions are
   * taken modulo the current length, so a changed list just continues.
   */
  private readonly cursors = new Map<string, number>();
  /**
   * `${backend.key} ${clientIp}` → pin. Insertion order is last-use order (a hit moves its entry to
   * the end, see REORDER_INTERVAL_MS), so the oldest entry is first: eviction and sweeping start there.
   */
  private readonly pins = new Map<string, Pin>();
  /** Endpoint keys (and their hashes) per endpoints array; computed once per array, gone with it. */
  private readonly keys = new WeakMap<readonly Endpoint[], EndpointKeys>();

  constructor(opts: EndpointPickerOptions = {}) {
    this.now = opts.now ?? Date.now;
    const max = opts.maxAffinityEntries ?? DEFAULT_MAX_AFFINITY_ENTRIES;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxAffinityEntries must be a positive integer, got ${max}`);
    }
    this.maxAffinityEntries = max;
    const { index, count } = opts.worker ?? { index: 0, count: 1 };
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`worker must be { index, count } with 0 <= index < count, got ${index}, ${count}`);
    }
    this.workerIndex = index;
    this.workerCount = count;
  }

  /**
   * The endpoint for this request, or undefined when the backend has none left outside `exclude`.
   * `exclude` holds `address:port` keys (see `endpointKey`) of endpoints a retry already tried.
   */
  pick(
    backend: BalancedBackend,
    endpoints: readonly Endpoint[],
    clientIp: string,
    exclude?: ReadonlySet<string>,
  ): Endpoint | undefined {
    if (endpoints.length === 0) return undefined;
    if (backend.affinity !== undefined) return this.pickPinned(backend, endpoints, clientIp, exclude);
    const index = this.roundRobin(backend.key, endpoints, exclude);
    return index < 0 ? undefined : endpoints[index];
  }

  /** Drops the state of every backend not in `keys`; call after a config swap. */
  retain(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const key of this.cursors.keys()) {
      if (!keep.has(key)) this.cursors.delete(key);
    }
    for (const [key, pin] of this.pins) {
      if (!keep.has(pin.backend)) this.pins.delete(key);
    }
  }

  /** Entries in the affinity table, expired ones not yet swept included. */
  get affinityEntries(): number {
    return this.pins.size;
  }

  private roundRobin(
    key: string,
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string> | undefined,
  ): number {
    const n = endpoints.length;
    const k = this.cursors.get(key) ?? 0;
    let index = this.position(k, n);
    if (exclude !== undefined && exclude.size > 0) {
      const { keys } = this.keysOf(endpoints);
      let tried = 0;
      while (exclude.has(keys[index]!)) {
        if (++tried === n) return -1;
        index = index + 1 === n ? 0 : index + 1;
      }
    }
    // One process continues after the endpoint picked (a retry's included); a worker takes its next turn.
    if (this.workerCount === 1) this.cursors.set(key, index + 1 === n ? 0 : index + 1);
    else this.cursors.set(key, k + 1 === Number.MAX_SAFE_INTEGER ? 0 : k + 1);
    return index;
  }

  /** The endpoint position of this process's `k`-th pick over `n` endpoints. */
  private position(k: number, n: number): number {
    const count = this.workerCount;
    if (count === 1) return k % n;
    const g = gcd(n, count);
    const shift = g === 1 ? 0 : Math.floor(k / (n / g));
    return (k * count + this.workerIndex + shift) % n;
  }

  private pickPinned(
    backend: BalancedBackend,
    endpoints: readonly Endpoint[],
    clientIp: string,
    exclude: ReadonlySet<string> | undefined,
  ): Endpoint | undefined {
    const { keys, hashes } = this.keysOf(endpoints);
    const now = this.now();
    const timeoutMs = timeoutMsOf(backend.affinity!.timeoutSeconds);
    const id = `${backend.key} ${clientIp}`;
    const pin = this.pins.get(id);

    if (pin !== undefined && now - pin.lastUsed < timeoutMs && exclude?.has(pin.endpointKey) !== true) {
      const index = keys[pin.index] === pin.endpointKey ? pin.index : keys.indexOf(pin.endpointKey);
      if (index >= 0) {
        pin.index = index;
        this.touch(id, pin, now, timeoutMs);
        return endpoints[index];
      }
    }

    // No pin, expired, gone from the list or refused: pick afresh, by the hash every worker computes
    // alike, and pin the client to the result.
    const index = rendezvous(keys, hashes, hash32(clientIp), exclude);
    if (index < 0) return undefined;
    if (pin !== undefined) {
      pin.endpointKey = keys[index]!;
      pin.index = index;
      this.touch(id, pin, now, timeoutMs);
    } else {
      this.sweep(now);
      if (this.pins.size >= this.maxAffinityEntries) this.evictOldest();
      this.pins.set(id, {
        backend: backend.key,
        endpointKey: keys[index]!,
        index,
        lastUsed: now,
        movedAt: now,
        timeoutMs,
      });
    }
    return endpoints[index];
  }

  /** Refreshes a pin and moves it to the end of the table (most recently used). */
  private touch(id: string, pin: Pin, now: number, timeoutMs: number): void {
    pin.lastUsed = now;
    pin.timeoutMs = timeoutMs;
    if (now - pin.movedAt >= REORDER_INTERVAL_MS) {
      pin.movedAt = now;
      this.pins.delete(id);
      this.pins.set(id, pin);
    }
  }

  /**
   * Removes expired entries from the front. The front holds the least recently used ones; with one
   * timeout for all, every expired entry is there. Entries with a longer timeout can stop the sweep
   * early: the ones behind them expire lazily on lookup, and the size bound still holds.
   */
  private sweep(now: number): void {
    let steps = 0;
    for (const [id, pin] of this.pins) {
      if (steps++ === SWEEP_STEP || now - pin.lastUsed < pin.timeoutMs) return;
      this.pins.delete(id);
    }
  }

  private evictOldest(): void {
    const oldest = this.pins.keys().next();
    if (oldest.done !== true) this.pins.delete(oldest.value);
  }

  private keysOf(endpoints: readonly Endpoint[]): EndpointKeys {
    let entry = this.keys.get(endpoints);
    if (entry === undefined) {
      const keys = endpoints.map(endpointKey);
      // The address alone when the addresses are distinct (a Service's pods share one port): where a
      // client goes then does not depend on the port, so a port change moves no one.
      const byAddress = new Set(endpoints.map((e) => e.address)).size === endpoints.length;
      entry = {
        keys,
        hashes: Uint32Array.from(endpoints, (e, i) => hash32(byAddress ? e.address : keys[i]!)),
      };
      this.keys.set(endpoints, entry);
    }
    return entry;
  }
}

interface EndpointKeys {
  readonly keys: readonly string[];
  readonly hashes: Uint32Array;
}

/**
 * Rendezvous (highest random weight) hashing: the endpoint outside `exclude` with the highest score for
 * this client; -1 when none is left. A score depends on the client and the endpoint only, so the choice
 * does not depend on the list's order or on any state, and removing an endpoint moves only its clients.
 */
export function rendezvous(
  keys: readonly string[],
  hashes: Uint32Array,
  clientHash: number,
  exclude?: ReadonlySet<string>,
): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < keys.length; i++) {
    if (exclude?.has(keys[i]!) === true) continue;
    const score = mix32((clientHash ^ hashes[i]!) >>> 0);
    // Equal scores need equal endpoint hashes (a 32-bit collision): the smaller key wins, in every worker.
    if (score > bestScore || (score === bestScore && keys[i]! < keys[best]!)) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a over the UTF-16 code units, then mixed: a well-spread 32-bit hash of a short string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** MurmurHash3's finaliser: a bijection on 32-bit integers that spreads every input bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function timeoutMsOf(timeoutSeconds: number): number {
  // Kubernetes requires 0 < timeoutSeconds <= 86400; anything else means the default.
  const seconds =
    Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  return seconds * 1000;
}
