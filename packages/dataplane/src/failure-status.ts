// One mapping from how an upstream attempt failed to what the client is answered and what is logged,
// for plain requests and WebSocket upgrades alike (a connect timeout is 504 on both, in the answer,
// in `status` and in `upstream_status`).
import type { UpstreamFailure } from './upstream-failure.js';

export interface FailureStatus {
  /** The status the gateway answers with when nothing was answered yet; 0: nothing is answered. */
  readonly answer: number;
  /** `status` in the access log and metrics when nothing was answered; 0: the status already sent. */
  readonly log: number;
  /** This attempt's entry in `upstream_status` when the backend sent no status line. */
  readonly upstream: string;
}

const BAD_GATEWAY: FailureStatus = { answer: 502, log: 502, upstream: '502' };
const GATEWAY_TIMEOUT: FailureStatus = { answer: 504, log: 504, upstream: '504' };

const STATUS: Readonly<Record<UpstreamFailure, FailureStatus>> = {
  // No connection (every endpoint tried refused, or the tries ran out): 502.
  connect: BAD_GATEWAY,
  stale: BAD_GATEWAY,
  // No connection within --proxy-connect-timeout: 504, as nginx's proxy_connect_timeout.
  'connect-timeout': GATEWAY_TIMEOUT,
  reset: BAD_GATEWAY,
  protocol: BAD_GATEWAY,
  // --proxy-read-timeout / --proxy-send-timeout.
  timeout: GATEWAY_TIMEOUT,
  // The head was relayed already; the client connection is cut, the backend's status stands.
  truncated: { answer: 0, log: 0, upstream: '502' },
  // The client left (or sent a malformed body, which its caller answers): nginx's 499.
  client: { answer: 0, log: 499, upstream: '502' },
  // nginx's client_body_timeout: nothing answered, the connection closed, 408 logged.
  'client-timeout': { answer: 0, log: 408, upstream: '502' },
};

export function failureStatus(failure: UpstreamFailure): FailureStatus {
  return STATUS[failure];
}

/** The `upstream_status` entry of one attempt: the backend's status, or what its failure maps to. */
export function upstreamStatusOf(status: number, failure: UpstreamFailure | undefined): string {
  if (status !== 0) return String(status);
  return failure === undefined ? '502' : STATUS[failure].upstream;
}
