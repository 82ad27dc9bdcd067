export type {
  CertificateExpiry,
  IngressRef,
  MetricsScope,
  MetricsSnapshot,
  RequestEnded,
  Scheme,
  UpstreamEndpointCount,
} from './gateway-metrics.js';
export { DURATION_BUCKETS, GatewayMetrics, SIZE_BUCKETS, UNKNOWN_ANNOTATION } from './gateway-metrics.js';
