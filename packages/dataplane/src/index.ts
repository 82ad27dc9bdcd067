export { DataPlane } from './data-plane.js';
export { SERVER_NAME } from './gateway-responses.js';
export { stopPretenuring } from './serving-heap.js';
export type {
  Active,
  CertificateSource,
  DataPlaneOptions,
  EndpointChooser,
  EndpointTable,
  Logger,
  RequestObserver,
  RequestRecord,
  Scheme,
  SniTable,
} from './types.js';
export type { UpstreamFailure } from './upstream-failure.js';
