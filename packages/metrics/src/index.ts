export type { CertificateExpiry, RequestEnded, Scheme, UpstreamEndpointCount } from './gateway-metrics.js';
export { DURATION_BUCKETS, GatewayMetrics, SIZE_BUCKETS } from './gateway-metrics.js';
