export {
  type AnnotationKind,
  KNOWN_ANNOTATIONS,
  NGINX_PREFIX,
  UNKNOWN_ANNOTATION_LABEL,
} from './annotations/known.js';
export { parseGoBool } from './annotations/parse-bool.js';
export { DEFAULT_AFFINITY_TIMEOUT_SECONDS } from './backend-resolver.js';
export { CertificateCache } from './certificate-check.js';
export {
  type ClassIgnored,
  DEFAULT_CLASS_ANNOTATION,
  ingressClassOf,
  LEGACY_CLASS_ANNOTATION,
  selectIngresses,
} from './class-filter.js';
export type * from './config.js';
export {
  backendsByService,
  EndpointIndex,
  LayeredEndpointTable,
  refreshEndpoints,
  SERVICE_NAME_LABEL,
  serviceKeyOf,
  serviceOfSlice,
} from './endpoint-table.js';
export { compareIngresses } from './ingress-order.js';
export { isLoopbackOrLinkLocal } from './loopback.js';
export { DEFAULT_CONTROLLER_NAME, defaultTranslateOptions, type TranslateOptions } from './options.js';
export {
  type ExcludedIngress,
  type IgnoredIngress,
  type TranslateResult,
  translate,
} from './translate.js';
