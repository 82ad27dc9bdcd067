// The one seam between the request path and the upstream HTTP client. Routing, balancing, retries,
// TLS and metrics live on the caller's side; an implementation only connects, sends, streams the answer
// back and reports how it went. `http-proxy-upstream.ts` implements it with http-proxy-3.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Where to send: one endpoint of a backend. */
export interface UpstreamTarget {
  readonly address: string;
  readonly port: number;
  /** ExternalName: `address` is a DNS name, resolved at connect time. */
  readonly external: boolean;
}

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

export interface UpstreamResult {
  failure: UpstreamFailure | undefined;
  /** The backend's status, 0 when no response head arrived. */
  status: number;
  /** Whether a response head was written to the client (if so, the caller must not write another). */
  responded: boolean;
  /** Milliseconds from the start of the attempt to its end. */
  elapsedMs: number;
}

export interface UpstreamHandler {
  /** Read when the response head is written: true adds `Connection: close` (the gateway is closing). */
  readonly closingConnection: boolean;
  /** Called exactly once per `forward`. */
  upstreamDone(result: UpstreamResult): void;
}

export interface TunnelHandler {
  /**
   * Called once when the upgrade is settled: `failure` undefined and status 101 when the tunnel is open,
   * else the failure (nothing was written to the client for `connect*`: the caller may retry or answer).
   */
  tunnelSettled(result: UpstreamResult): void;
  /** Called once when an open tunnel closes. */
  tunnelClosed(): void;
}

export interface UpstreamClient {
  /**
   * Sends `req` (headers already rewritten for the backend, request-target as received) to `target`
   * and writes the answer to `res`, headers filtered (see `responseHeaders`). The request body is not
   * touched before a connection is held. `fresh` asks for a new connection (after a `stale` failure).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: UpstreamTarget,
    fresh: boolean,
    handler: UpstreamHandler,
  ): void;
  /**
   * Abandons the attempt in flight for `req` (its body turned out malformed): the upstream request is
   * aborted, so the backend never sees it complete, and `upstreamDone` reports `client` at once. Nothing
   * is written to `res`: the caller answers. A no-op when no attempt is in flight.
   */
  abandon(req: IncomingMessage): void;
  /** Proxies a WebSocket upgrade on a fresh connection. */
  tunnel(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    target: UpstreamTarget,
    handler: TunnelHandler,
  ): void;
  /** Closes idle upstream connections; later requests still work (new connections are not pooled). */
  close(): void;
}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  sendTimeoutMs: number;
  refuseLocalExternalNames: boolean;
}
