export { DataPlane } from './data-plane.js';
export { SERVER_NAME } from './gateway-responses.js';
export type {
  CertificateSource,
  DataPlaneOptions,
  EndpointChooser,
  Logger,
  RequestObserver,
  RequestRecord,
  Scheme,
} from './types.js';
export type {
  TunnelHandler,
  UpstreamClient,
  UpstreamClientOptions,
  UpstreamFailure,
  UpstreamHandler,
  UpstreamResult,
  UpstreamTarget,
} from './upstream-client.js';
