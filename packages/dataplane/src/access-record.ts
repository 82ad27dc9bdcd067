// The access-log record of one exchange (a request or a WebSocket), with ingress-nginx's variable names.
import { performance } from 'node:perf_hooks';
import type { Route } from '@gateway/translate';
import type { RequestRecord, Scheme } from './types.js';

/** What a forwarded request and a tunnel share for their record. */
export interface Reported {
  readonly startedAt: number;
  readonly method: string;
  route: Route | undefined;
  host: string;
  /** The request-target in origin form, as sent. */
  path: string;
  clientIp: string;
  requestId: string;
  upstreamAddr: string;
  upstreamStatus: string;
  /** Milliseconds on the upstream side over all tries; -1 when none was made. */
  upstreamMs: number;
}

let isoMs = 0;
let isoText = '';

/** `new Date().toISOString()`, formatted once per millisecond (many requests end in the same one). */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

export function recordOf(
  x: Reported,
  scheme: Scheme,
  status: number,
  requestLength: number,
  bytesSent: number,
): RequestRecord {
  const route = x.route;
  return {
    time: isoNow(),
    remote_addr: x.clientIp,
    method: x.method,
    host: x.host,
    path: x.path,
    status,
    bytes_sent: bytesSent,
    request_length: requestLength,
    request_time: Math.round(performance.now() - x.startedAt) / 1000,
    namespace: route?.namespace ?? '',
    ingress: route?.ingress ?? '',
    service: route?.service ?? '',
    upstream_addr: x.upstreamAddr,
    upstream_status: x.upstreamStatus,
    upstream_response_time: x.upstreamMs < 0 ? null : Math.round(x.upstreamMs) / 1000,
    req_id: x.requestId,
    route,
    scheme,
  };
}
