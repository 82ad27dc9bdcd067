export type {
  CertificateExpiry,
  IngressRef,
  RequestEnded,
  Scheme,
  UpstreamEndpointCount,
} from './gateway-metrics.js';
export { DURATION_BUCKETS, GatewayMetrics, SIZE_BUCKETS } from './gateway-metrics.js';
