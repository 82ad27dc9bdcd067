// Which Ingresses are ours. https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class
import type { Ingress, Snapshot, SourcedObject } from '@gateway/manifests';
import { DEFAULT_CONTROLLER_NAME, type TranslateOptions } from './options.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** The class an Ingress asks for: `spec.ingressClassName`, else the legacy annotation, else none. */
export function ingressClassOf(ingress: Ingress): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
}

/**
 * - `--ingress-class NAME`: the Ingresses whose class (field, else legacy annotation) is NAME.
 * - Otherwise, with no IngressClass in the snapshot (a standalone file): every Ingress.
 * - Otherwise (ingress-nginx): the Ingresses whose class is an IngressClass with our controller, plus
 *   those without a class when one of our IngressClasses is annotated as the default class.
 */
export function selectIngresses(
  snapshot: Snapshot,
  options: TranslateOptions,
): { served: SourcedObject<Ingress>[]; ignored: SourcedObject<Ingress>[] } {
  const isOurs = classPredicate(snapshot, options);
  const served: SourcedObject<Ingress>[] = [];
  const ignored: SourcedObject<Ingress>[] = [];
  for (const item of snapshot.ingresses) (isOurs(ingressClassOf(item.object)) ? served : ignored).push(item);
  return { served, ignored };
}

function classPredicate(snapshot: Snapshot, options: TranslateOptions): (cls: string | undefined) => boolean {
  const wanted = options.ingressClass;
  if (wanted !== undefined) return (cls) => cls === wanted;
  if (snapshot.ingressClasses.length === 0) return () => true;
  const controller = options.controllerName ?? DEFAULT_CONTROLLER_NAME;
  const ours = new Set<string>();
  let ownDefault = false;
  for (const { object } of snapshot.ingressClasses) {
    if (object.spec?.controller !== controller) continue;
    ours.add(object.metadata.name);
    if (object.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') ownDefault = true;
  }
  return (cls) => (cls === undefined ? ownDefault : ours.has(cls));
}
