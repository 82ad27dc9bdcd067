// How one try of a request at a backend failed: the transport reports it, failure-status.ts maps it to
// what the client is answered and what is logged, the retry policy reads it.
/**
 * How an attempt failed, or undefined when the response was relayed completely.
 * - `connect`, `connect-timeout`: no connection; nothing was sent and no body byte read → retry elsewhere.
 * - `stale`: a pooled keep-alive connection turned out closed by the backend before any response byte;
 *   only reported for requests that may be replayed (idempotent, no body) → retry on a fresh connection.
 * - `reset`: the connection failed after the request was sent, before a response head → 502.
 * - `protocol`: the backend answered something that is not valid HTTP/1.x → 502.
 * - `timeout`: send or read timeout → 504 (or the client connection is cut when the head was sent).
 * - `truncated`: the response was cut off mid-body; the client connection was destroyed.
 * - `client`: the client went away or sent a malformed body; the upstream request was abandoned.
 * - `client-timeout`: the client sent no body byte within the send timeout while nothing waited for the
 *   backend (nginx's client_body_timeout); the upstream request was abandoned, nothing answered.
 */
export type UpstreamFailure =
  | 'connect'
  | 'connect-timeout'
  | 'stale'
  | 'reset'
  | 'protocol'
  | 'timeout'
  | 'truncated'
  | 'client'
  | 'client-timeout';
