// What translate() needs to know that is not in the snapshot: the flags that pick Ingresses and guard
// ExternalName Services, and what to do with an Ingress whose access restrictions are not implemented.

/** The IngressClass `spec.controller` we own unless `--controller-name` says otherwise. */
export const DEFAULT_CONTROLLER_NAME = 'k8s.io/ingress-gateway';

export interface TranslateOptions {
  /** `--ingress-class`: serve only Ingresses of this class (by `spec.ingressClassName` or legacy annotation). */
  readonly ingressClass?: string | undefined;
  /** `--controller-name`: the IngressClass `spec.controller` we own; default `DEFAULT_CONTROLLER_NAME`. */
  readonly controllerName?: string | undefined;
  /**
   * True standalone, false in a cluster: an ExternalName that is a loopback or link-local IP literal (or
   * `localhost`) is refused when false (CVE-2021-25740). Names resolving there are refused by the data plane.
   */
  readonly allowLoopbackExternalName: boolean;
  /**
   * `--serve-unhonoured-access-annotations`: serve an Ingress whose access-restricting ingress-nginx
   * annotations (auth-*, source ranges, enable-global-auth) are not implemented, WITHOUT the restriction.
   * False (the default) fails closed: such an Ingress is not served.
   */
  readonly serveUnhonouredAccessAnnotations?: boolean | undefined;
}

/** Options with every default filled in; `overrides` win. Standalone-friendly: loopback ExternalNames allowed. */
export function defaultTranslateOptions(overrides: Partial<TranslateOptions> = {}): TranslateOptions {
  return {
    ...(overrides.ingressClass === undefined ? {} : { ingressClass: overrides.ingressClass }),
    controllerName: overrides.controllerName ?? DEFAULT_CONTROLLER_NAME,
    allowLoopbackExternalName: overrides.allowLoopbackExternalName ?? true,
    serveUnhonouredAccessAnnotations: overrides.serveUnhonouredAccessAnnotations ?? false,
  };
}
