// The precedence of Ingresses: the oldest wins a conflict (Ingress v1 API reference, ingress-nginx).
import type { Ingress, SourcedObject } from '@gateway/manifests';
import { namespaceOf } from './diagnostics.js';

/**
 * Oldest first: `creationTimestamp`, then `SourceRef.order` (files carry no timestamps), then
 * namespace/name. An Ingress without a valid timestamp sorts after every timestamped one: comparing a
 * timestamp only when both have one would not be a total order (A<B by time, B<C by order, C<A by
 * time), and the result would depend on the input order.
 */
export function compareIngresses(a: SourcedObject<Ingress>, b: SourcedObject<Ingress>): number {
  return compareKeys(createdAt(a), a, createdAt(b), b);
}

/**
 * `items` in `compareIngresses` order, as a new array. Each timestamp is parsed once, not twice per
 * comparison: `Date.parse` was 17% of translate at 10,000 Ingresses.
 */
export function sortIngresses(items: readonly SourcedObject<Ingress>[]): SourcedObject<Ingress>[] {
  const keyed = items.map((item) => ({ time: createdAt(item), item }));
  keyed.sort((a, b) => compareKeys(a.time, a.item, b.time, b.item));
  return keyed.map((k) => k.item);
}

function compareKeys(ta: number, a: SourcedObject<Ingress>, tb: number, b: SourcedObject<Ingress>): number {
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.source.order !== b.source.order) return a.source.order - b.source.order;
  return (
    compareStrings(namespaceOf(a), namespaceOf(b)) ||
    compareStrings(a.object.metadata.name, b.object.metadata.name)
  );
}

function createdAt(item: SourcedObject<Ingress>): number {
  const raw = item.object.metadata.creationTimestamp;
  const time = raw === undefined ? Number.NaN : Date.parse(raw);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/** Code-unit order, independent of the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
