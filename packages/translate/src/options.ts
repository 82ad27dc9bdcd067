// What translate() needs to know that is not in the snapshot: the flags that pick Ingresses and guard
// ExternalName Services, what to do with an Ingress whose access restrictions are not implemented,
// the current time for certificate validity, and a cache the caller keeps.
import type { CertificateCache } from './certificate-check.js';

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
   * The current time, ms since epoch (the CLI passes `Date.now()`): TLS Secrets outside their validity
   * period are reported (and served anyway). Absent: validity is not checked, so translate reads no clock.
   */
  readonly now?: number | undefined;
  /**
   * Kept by the caller across translate() calls so unchanged TLS Secrets are not parsed again. Absent: a
   * fresh one per call (each PEM pair is still parsed once per call).
   */
  readonly certificateCache?: CertificateCache | undefined;
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
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
    ...(overrides.certificateCache === undefined ? {} : { certificateCache: overrides.certificateCache }),
    serveUnhonouredAccessAnnotations: overrides.serveUnhonouredAccessAnnotations ?? false,
  };
}
