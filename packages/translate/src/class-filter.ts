// Which Ingresses are ours. https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class
import type { Ingress, Snapshot, SourcedObject } from '@gateway/manifests';
import { DEFAULT_CONTROLLER_NAME, type TranslateOptions } from './options.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** The class an Ingress asks for: `spec.ingressClassName`, else the legacy annotation, else none. */
export function ingressClassOf(ingress: Ingress): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
}

/** An Ingress the class filter leaves to another controller, and why (for `--check` and logs). */
export interface ClassIgnored {
  readonly ingress: SourcedObject<Ingress>;
  readonly reason: string;
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
): { served: SourcedObject<Ingress>[]; ignored: ClassIgnored[] } {
  const whyNot = classVerdict(snapshot, options);
  const served: SourcedObject<Ingress>[] = [];
  const ignored: ClassIgnored[] = [];
  for (const item of snapshot.ingresses) {
    const reason = whyNot(ingressClassOf(item.object));
    if (reason === undefined) served.push(item);
    else ignored.push({ ingress: item, reason });
  }
  return { served, ignored };
}

/** Undefined for a class that is ours, else the reason it is not. */
function classVerdict(
  snapshot: Snapshot,
  options: TranslateOptions,
): (cls: string | undefined) => string | undefined {
  const wanted = options.ingressClass;
  if (wanted !== undefined) {
    return (cls) =>
      cls === wanted
        ? undefined
        : cls === undefined
          ? `no class, and --ingress-class is "${wanted}"`
          : `class "${cls}" is not --ingress-class "${wanted}"`;
  }
  if (snapshot.ingressClasses.length === 0) return () => undefined;
  const controller = options.controllerName ?? DEFAULT_CONTROLLER_NAME;
  const controllers = new Map<string, string | undefined>();
  let ownDefault = false;
  for (const { object } of snapshot.ingressClasses) {
    controllers.set(object.metadata.name, object.spec?.controller);
    if (object.spec?.controller !== controller) continue;
    if (object.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') ownDefault = true;
  }
  return (cls) => {
    if (cls === undefined) {
      return ownDefault
        ? undefined
        : `no class and no default IngressClass of ours (controller ${controller})`;
    }
    if (!controllers.has(cls)) return `class "${cls}" names no IngressClass`;
    const theirs = controllers.get(cls);
    return theirs === controller
      ? undefined
      : `class "${cls}" is not ours (its controller is ${theirs ?? 'unset'}; ours is ${controller})`;
  };
}
