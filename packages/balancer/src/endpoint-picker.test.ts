import { describe, expect, it } from 'vitest';
import { type BalancedBackend, type Endpoint, EndpointPicker, endpointKey } from './index.js';

const ep = (n: number): Endpoint => ({ address: `10.0.0.${n}`, port: 8080 });
const eps = (...ns: number[]): Endpoint[] => ns.map(ep);
const key = (n: number): string => endpointKey(ep(n));
const name = (e: Endpoint | undefined): string => (e === undefined ? '-' : e.address.slice('10.0.0.'.length));

/** A backend with the endpoints the table holds for it (the picker takes them apart). */
type WithEndpoints = BalancedBackend & { readonly endpoints: readonly Endpoint[] };

function backend(endpoints: readonly Endpoint[], timeoutSeconds?: number, k = 'ns/svc:80'): WithEndpoints {
  return timeoutSeconds === undefined
    ? { key: k, endpoints }
    : { key: k, endpoints, affinity: { timeoutSeconds } };
}

function pickFrom(
  picker: EndpointPicker,
  b: WithEndpoints,
  clientIp: string,
  exclude?: ReadonlySet<string>,
): Endpoint | undefined {
  return picker.pick(b, b.endpoints, clientIp, exclude);
}

class Clock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

describe('round robin', () => {
  it.each([
    { n: 1, picks: 10 },
    { n: 2, picks: 100 },
    { n: 3, picks: 300 },
    { n: 7, picks: 700 },
  ])('spreads $picks picks evenly over $n endpoints', ({ n, picks }) => {
    const picker = new EndpointPicker();
    const b = backend(eps(...Array.from({ length: n }, (_, i) => i + 1)));
    const counts = new Map<string, number>();
    for (let i = 0; i < picks; i++) {
      const e = pickFrom(picker, b, '192.0.2.1')!;
      counts.set(endpointKey(e), (counts.get(endpointKey(e)) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual(Array.from({ length: n }, () => picks / n));
  });

  it('visits endpoints in order, whatever the client', () => {
    const picker = new EndpointPicker();
    const b = backend(eps(1, 2, 3));
    const seq = ['a', 'b', 'c', 'd', 'e'].map((ip) => name(pickFrom(picker, b, ip)));
    expect(seq).toEqual(['1', '2', '3', '1', '2']);
  });

  it.each([
    { name: 'same list, new array', next: eps(1, 2, 3), expected: ['3', '1', '2'] },
    { name: 'list grew', next: eps(1, 2, 3, 4), expected: ['3', '4', '1'] },
    { name: 'list shrank', next: eps(1, 2), expected: ['1', '2', '1'] },
    { name: 'list replaced', next: eps(7, 8, 9), expected: ['9', '7', '8'] },
  ])('keeps its cursor across a config swap: $name', ({ next, expected }) => {
    const picker = new EndpointPicker();
    pickFrom(picker, backend(eps(1, 2, 3)), 'c');
    pickFrom(picker, backend(eps(1, 2, 3)), 'c');
    // cursor is now 2
    expect([0, 1, 2].map(() => name(pickFrom(picker, backend(next), 'c')))).toEqual(expected);
  });

  it.each([
    { n: 3, count: 2 },
    { n: 2, count: 2 },
    { n: 4, count: 2 },
    { n: 6, count: 4 },
    { n: 5, count: 3 },
  ])(
    'with $count workers taking turns, $n endpoints go round robin overall and per worker',
    ({ n, count }) => {
      const b = backend(eps(...Array.from({ length: n }, (_, i) => i + 1)));
      const pickers = Array.from(
        { length: count },
        (_, index) => new EndpointPicker({ worker: { index, count } }),
      );
      // Fresh connections in turn: worker 0, 1, … 0, 1, …
      const overall = Array.from({ length: n * count }, (_, i) =>
        name(pickFrom(pickers[i % count]!, b, 'x')),
      );
      expect(new Set(overall.slice(0, n)).size).toBe(n);
      for (const e of new Set(overall)) expect(overall.filter((x) => x === e)).toHaveLength(count);
      // One worker alone (keep-alive connections on it) visits every endpoint evenly too.
      const alone = new EndpointPicker({ worker: { index: 1, count } });
      const own = Array.from({ length: n * count }, () => name(pickFrom(alone, b, 'x')));
      for (let e = 1; e <= n; e++) expect(own.filter((x) => x === String(e))).toHaveLength(count);
    },
  );

  it('rejects a worker index outside its count', () => {
    expect(() => new EndpointPicker({ worker: { index: 2, count: 2 } })).toThrow(RangeError);
    expect(() => new EndpointPicker({ worker: { index: 0, count: 0 } })).toThrow(RangeError);
  });

  it('keeps one cursor per backend key', () => {
    const picker = new EndpointPicker();
    const a = backend(eps(1, 2), undefined, 'ns/a:80');
    const b = backend(eps(1, 2), undefined, 'ns/b:80');
    expect([a, a, b, a, b].map((x) => name(pickFrom(picker, x, 'c')))).toEqual(['1', '2', '1', '1', '2']);
  });

  it.each([
    { name: 'empty backend', endpoints: eps(), exclude: [], expected: '-' },
    { name: 'nothing excluded', endpoints: eps(1, 2, 3), exclude: [], expected: '1' },
    { name: 'next one excluded', endpoints: eps(1, 2, 3), exclude: [1], expected: '2' },
    { name: 'two excluded', endpoints: eps(1, 2, 3), exclude: [1, 2], expected: '3' },
    { name: 'wraps around', endpoints: eps(1, 2, 3), exclude: [2, 3], expected: '1' },
    { name: 'all excluded', endpoints: eps(1, 2, 3), exclude: [1, 2, 3], expected: '-' },
    { name: 'unknown keys excluded', endpoints: eps(1), exclude: [5, 6], expected: '1' },
  ])('exclude: $name → $expected', ({ endpoints, exclude, expected }) => {
    const picker = new EndpointPicker();
    expect(name(pickFrom(picker, backend(endpoints), 'c', new Set(exclude.map(key))))).toBe(expected);
  });

  it('continues after the endpoint a retry picked', () => {
    const picker = new EndpointPicker();
    const b = backend(eps(1, 2, 3));
    expect(name(pickFrom(picker, b, 'c'))).toBe('1');
    expect(name(pickFrom(picker, b, 'c', new Set([key(2)])))).toBe('3');
    expect(name(pickFrom(picker, b, 'c'))).toBe('1');
  });

  it('accepts a port-only difference as another endpoint', () => {
    const picker = new EndpointPicker();
    const b = backend([
      { address: '10.0.0.1', port: 80 },
      { address: '10.0.0.1', port: 81 },
    ]);
    expect(pickFrom(picker, b, 'c', new Set(['10.0.0.1:80']))).toEqual({ address: '10.0.0.1', port: 81 });
  });
});

/** The endpoint a picker that has seen nothing before (another worker, say) gives `ip` first. */
function fresh(endpoints: readonly Endpoint[], ip: string, exclude?: ReadonlySet<string>): string {
  return name(pickFrom(new EndpointPicker(), backend(endpoints, 60), ip, exclude));
}

/** The first `n` of `c0`, `c1`… for which `pred` holds: clients with the property a test needs. */
function clientsWhere(n: number, pred: (ip: string) => boolean): string[] {
  const found: string[] = [];
  for (let i = 0; i < 1000 && found.length < n; i++) if (pred(`c${i}`)) found.push(`c${i}`);
  if (found.length < n) throw new Error('no such client');
  return found;
}

function clientWhere(pred: (ip: string) => boolean): string {
  return clientsWhere(1, pred)[0]!;
}

describe('ClientIP affinity', () => {
  it('pins each client to one endpoint', () => {
    const picker = new EndpointPicker({ now: new Clock().now });
    const b = backend(eps(1, 2, 3), 60);
    const first = ['a', 'b', 'c', 'd'].map((ip) => name(pickFrom(picker, b, ip)));
    for (let i = 0; i < 5; i++) {
      expect(['a', 'b', 'c', 'd'].map((ip) => name(pickFrom(picker, b, ip)))).toEqual(first);
    }
  });

  it('gives a client the same first endpoint in every picker, whatever each saw before (workers agree)', () => {
    const worn = new EndpointPicker({ now: new Clock().now });
    const b = backend(eps(1, 2, 3, 4), 60);
    // This picker has balanced other traffic and pinned other clients; the other one has seen nothing.
    for (let i = 0; i < 37; i++) pickFrom(worn, backend(b.endpoints), 'x');
    for (let i = 0; i < 50; i++) pickFrom(worn, b, `other-${i}`);
    for (let i = 0; i < 500; i++)
      expect(name(pickFrom(worn, b, `10.1.${i >> 8}.${i & 255}`))).toBe(
        fresh(b.endpoints, `10.1.${i >> 8}.${i & 255}`),
      );
  });

  it('does not depend on the order of the endpoints', () => {
    for (let i = 0; i < 200; i++)
      expect(fresh(eps(4, 1, 3, 2), `ip-${i}`)).toBe(fresh(eps(1, 2, 3, 4), `ip-${i}`));
  });

  it('sends a client to the same address when the port changes, and splits endpoints on one address', () => {
    const at = (port: number): Endpoint[] => eps(1, 2, 3).map((e) => ({ ...e, port }));
    for (let i = 0; i < 100; i++) {
      const ip = `ip-${i}`;
      const a = pickFrom(new EndpointPicker(), backend(at(80), 60), ip)!;
      expect(pickFrom(new EndpointPicker(), backend(at(8080), 60), ip)!.address).toBe(a.address);
    }
    const onePod = [80, 81, 82].map((port) => ({ address: '10.0.0.9', port }));
    const ports = new Set<number>();
    for (let i = 0; i < 100; i++)
      ports.add(pickFrom(new EndpointPicker(), backend(onePod, 60), `ip-${i}`)!.port);
    expect(ports.size).toBe(3);
  });

  it('spreads new clients evenly, and moves only the clients of an endpoint that goes', () => {
    const counts = new Map<string, number>();
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const ip = `198.51.${i >> 8}.${i & 255}`;
      const before = fresh(eps(1, 2, 3), ip);
      counts.set(before, (counts.get(before) ?? 0) + 1);
      const after = fresh(eps(1, 3), ip);
      if (before !== '2') expect(after).toBe(before);
      else moved++;
    }
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(100);
    expect(moved).toBe(counts.get('2'));
  });

  it('survives a config swap that keeps the endpoint, even when the hash now prefers another', () => {
    const ip = clientWhere((c) => fresh(eps(0, 1, 2, 3), c) === '0');
    const picker = new EndpointPicker({ now: new Clock().now });
    const pinned = name(pickFrom(picker, backend(eps(1, 2, 3), 60), ip));
    expect(name(pickFrom(picker, backend(eps(0, 3, 2, 1), 60), ip))).toBe(pinned);
  });

  // The client is pinned with endpoints 1-3, then endpoint 4, which the hash prefers for it, joins; each
  // step: advance the clock (seconds), pick, expect the old pin or the hash's new choice.
  it.each([
    {
      name: 'held within the timeout',
      steps: [
        [59, 'old'],
        [0, 'old'],
      ],
    },
    { name: 'expires after the timeout', steps: [[60, 'new']] },
    {
      name: 'refreshed by each use',
      steps: [
        [50, 'old'],
        [50, 'old'],
        [50, 'old'],
        [60, 'new'],
        [59, 'new'],
      ],
    },
  ] as const)('timeout 60 s: $name', ({ steps }) => {
    const ip = clientWhere((c) => fresh(eps(1, 2, 3, 4), c) === '4');
    const clock = new Clock();
    const picker = new EndpointPicker({ now: clock.now });
    const old = name(pickFrom(picker, backend(eps(1, 2, 3), 60), ip));
    const b = backend(eps(1, 2, 3, 4), 60);
    for (const [seconds, expected] of steps) {
      clock.advance(seconds);
      expect(name(pickFrom(picker, b, ip))).toBe(expected === 'old' ? old : '4');
    }
  });

  it.each([
    { timeoutSeconds: 0, name: 'zero' },
    { timeoutSeconds: Number.NaN, name: 'NaN' },
  ])('uses the Kubernetes default of 10800 s for a $name timeout', ({ timeoutSeconds }) => {
    const ip = clientWhere((c) => fresh(eps(1, 2), c) === '2');
    const clock = new Clock();
    const picker = new EndpointPicker({ now: clock.now });
    expect(name(pickFrom(picker, backend(eps(1), timeoutSeconds), ip))).toBe('1');
    const b = backend(eps(1, 2), timeoutSeconds);
    clock.advance(10_799);
    expect(name(pickFrom(picker, b, ip))).toBe('1');
    clock.advance(10_800);
    expect(name(pickFrom(picker, b, ip))).toBe('2');
  });

  it('re-pins when the pinned endpoint is gone, and stays there when it comes back', () => {
    const ip = clientWhere((c) => fresh(eps(1, 2, 3), c) === '1');
    const picker = new EndpointPicker({ now: new Clock().now });
    expect(name(pickFrom(picker, backend(eps(1, 2, 3), 60), ip))).toBe('1');
    const next = fresh(eps(2, 3), ip);
    expect(name(pickFrom(picker, backend(eps(2, 3), 60), ip))).toBe(next);
    expect(name(pickFrom(picker, backend(eps(1, 2, 3), 60), ip))).toBe(next);
  });

  it('re-pins when the pinned endpoint is excluded by a retry: the next by the hash, as in every worker', () => {
    const ip = clientWhere((c) => fresh(eps(1, 2, 3), c) === '1');
    const picker = new EndpointPicker({ now: new Clock().now });
    const b = backend(eps(1, 2, 3), 60);
    expect(name(pickFrom(picker, b, ip))).toBe('1');
    const next = fresh(eps(1, 2, 3), ip, new Set([key(1)]));
    expect(next).toBe(fresh(eps(2, 3), ip));
    expect(name(pickFrom(picker, b, ip, new Set([key(1)])))).toBe(next);
    expect(name(pickFrom(picker, b, ip))).toBe(next);
    expect(name(pickFrom(picker, b, ip, new Set([key(1)])))).toBe(next);
  });

  it('returns undefined when every endpoint is excluded, and on an empty backend', () => {
    const picker = new EndpointPicker({ now: new Clock().now });
    const b = backend(eps(1, 2), 60);
    pickFrom(picker, b, 'a');
    expect(pickFrom(picker, b, 'a', new Set([key(1), key(2)]))).toBeUndefined();
    expect(pickFrom(picker, backend([], 60), 'a')).toBeUndefined();
  });

  it('pins per backend', () => {
    // A client whose pin for x is on another endpoint than its hash would give for y.
    const ip = clientWhere((c) => fresh(eps(1, 2), c) === '1');
    const picker = new EndpointPicker({ now: new Clock().now });
    const x = backend(eps(2), 60, 'ns/x:80');
    const y = backend(eps(1, 2), 60, 'ns/y:80');
    expect(name(pickFrom(picker, x, ip))).toBe('2');
    const x2 = backend(eps(1, 2), 60, 'ns/x:80');
    expect([x2, y, x2, y].map((b) => name(pickFrom(picker, b, ip)))).toEqual(['2', '1', '2', '1']);
  });
});

describe('affinity table bounds', () => {
  it('evicts the least recently used entry at the cap', () => {
    const clock = new Clock();
    const picker = new EndpointPicker({ now: clock.now, maxAffinityEntries: 3 });
    // Each client pinned where the hash would not put it today, so a forgotten pin shows.
    const all = eps(1, 2, 3, 4, 5);
    const [a, b, c, d] = clientsWhere(4, (ip) => fresh(all, ip) !== '1');
    const only1 = backend(eps(1), 3600);
    const five = backend(all, 3600);
    for (const ip of [a!, b!, c!]) expect(name(pickFrom(picker, only1, ip))).toBe('1');
    clock.advance(1);
    pickFrom(picker, five, a!); // b is now the oldest
    expect(name(pickFrom(picker, five, d!))).toBe(fresh(all, d!));
    expect(picker.affinityEntries).toBe(3);
    expect(name(pickFrom(picker, five, a!))).toBe('1');
    expect(name(pickFrom(picker, five, c!))).toBe('1');
    expect(name(pickFrom(picker, five, b!))).toBe(fresh(all, b!)); // forgotten, so re-picked
    expect(picker.affinityEntries).toBe(3);
  });

  it('never grows past the cap', () => {
    const picker = new EndpointPicker({ now: new Clock().now, maxAffinityEntries: 100 });
    const b = backend(eps(1, 2, 3), 3600);
    for (let i = 0; i < 1000; i++) pickFrom(picker, b, `198.51.100.${i}`);
    expect(picker.affinityEntries).toBe(100);
  });

  it('sweeps expired entries as new clients arrive', () => {
    const clock = new Clock();
    const picker = new EndpointPicker({ now: clock.now });
    const b = backend(eps(1, 2, 3), 10);
    for (let i = 0; i < 50; i++) pickFrom(picker, b, `old-${i}`);
    expect(picker.affinityEntries).toBe(50);
    clock.advance(10);
    for (let i = 0; i < 10; i++) pickFrom(picker, b, `new-${i}`);
    expect(picker.affinityEntries).toBe(10);
  });

  it('rejects a cap that is not a positive integer', () => {
    expect(() => new EndpointPicker({ maxAffinityEntries: 0 })).toThrow(RangeError);
  });
});

describe('retain', () => {
  it('drops cursors and pins of backends that are gone', () => {
    const all = eps(1, 2, 3);
    const [a, b] = clientsWhere(2, (ip) => fresh(all, ip) !== '1');
    const picker = new EndpointPicker({ now: new Clock().now });
    const keep = (list: Endpoint[]) => backend(list, 60, 'ns/keep:80');
    const keepRoundRobin = backend(all, undefined, 'ns/keep-rr:80');
    const drop = backend(all, undefined, 'ns/drop:80');
    const dropPinned = (list: Endpoint[]) => backend(list, 60, 'ns/drop-pinned:80');
    pickFrom(picker, keep(eps(1)), a!);
    pickFrom(picker, keepRoundRobin, a!);
    pickFrom(picker, drop, a!);
    pickFrom(picker, dropPinned(eps(1)), a!);
    pickFrom(picker, dropPinned(eps(1)), b!);
    expect(picker.affinityEntries).toBe(3);
    picker.retain(['ns/keep:80', 'ns/keep-rr:80']);
    expect(picker.affinityEntries).toBe(1);
    expect(name(pickFrom(picker, keep(all), a!))).toBe('1'); // pin kept
    expect(name(pickFrom(picker, keepRoundRobin, a!))).toBe('2'); // cursor kept
    expect(name(pickFrom(picker, drop, a!))).toBe('1'); // cursor reset
    expect(name(pickFrom(picker, dropPinned(all), b!))).toBe(fresh(all, b!)); // pin dropped
  });
});
