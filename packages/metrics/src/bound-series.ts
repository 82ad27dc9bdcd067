/// <reference path="./prom-client-util.d.ts" />
// The request metrics' series bound once per route, method and status: after a series' first request,
// the next ones add to its entry directly, with no label object built, validated or hashed. prom-client
// hashes the labels on every inc/observe, even through `labels()` children (2.5–4 µs a request for the
// five request metrics). The entries are prom-client's own (its Counter and Histogram `hashMap` values,
// prom-client pinned at 15.1.3, their shape checked by bound-series.test.ts), so exposition, `get()` and
// the cluster aggregator read exactly what they always did.
import type { Counter, Histogram } from 'prom-client';
// prom-client's own series key (no exports map: the file is reachable; typed in prom-client-util.d.ts).
import { hashObject } from 'prom-client/lib/util.js';

/** prom-client's Counter series entry. */
interface CounterEntry {
  value: number;
}

/** prom-client's Histogram series entry: counts per upper bound (not cumulative), sum and count. */
interface HistogramEntry {
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

interface Internals<E> {
  hashMap: Record<string, E | undefined>;
  sortedLabelNames: readonly string[];
  upperBounds?: readonly number[];
}

/** The entry of `labels` in `metric`, created by one ordinary call when missing. */
export function counterEntry(metric: Counter<string>, labels: Record<string, string | number>): CounterEntry {
  const m = metric as unknown as Internals<CounterEntry>;
  const hash = hashObject(labels, m.sortedLabelNames);
  let entry = m.hashMap[hash];
  if (entry === undefined) {
    metric.inc(labels, 0);
    entry = m.hashMap[hash]!;
  }
  return entry;
}

export class BoundHistogram {
  constructor(
    readonly entry: HistogramEntry,
    private readonly bounds: readonly number[],
  ) {}

  static of(metric: Histogram<string>, labels: Record<string, string | number>): BoundHistogram {
    const m = metric as unknown as Internals<HistogramEntry>;
    const hash = hashObject(labels, m.sortedLabelNames);
    let entry = m.hashMap[hash];
    if (entry === undefined) {
      // Created as prom-client creates it (every bucket at 0), then nothing observed.
      metric.zero(labels);
      entry = m.hashMap[hash]!;
    }
    return new BoundHistogram(entry, m.upperBounds ?? []);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const e = this.entry;
    e.sum += value;
    e.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (value <= b) {
        e.bucketValues[b]! += 1;
        return;
      }
    }
  }
}

/** The five request metrics' entries of one (route, method, status). */
export interface RequestSeries {
  readonly requests: CounterEntry;
  readonly duration: BoundHistogram;
  /** Bound at the first request that reached an upstream (a series appears only once observed). */
  upstream: BoundHistogram | null;
  readonly requestSize: BoundHistogram;
  readonly responseSize: BoundHistogram;
}

/**
 * route object → method → status → series. A WeakMap: a route of a replaced configuration goes with it.
 * Cleared whenever series are removed (`retainIngresses`), so no entry prom-client dropped is written to.
 */
export class SeriesCache {
  private byRoute = new WeakMap<object, Map<string, Map<number, RequestSeries>>>();

  get(route: object, method: string, status: number): RequestSeries | undefined {
    return this.byRoute.get(route)?.get(method)?.get(status);
  }

  set(route: object, method: string, status: number, series: RequestSeries): void {
    let methods = this.byRoute.get(route);
    if (methods === undefined) {
      methods = new Map();
      this.byRoute.set(route, methods);
    }
    let statuses = methods.get(method);
    if (statuses === undefined) {
      statuses = new Map();
      methods.set(method, statuses);
    }
    statuses.set(status, series);
  }

  clear(): void {
    this.byRoute = new WeakMap();
  }
}
