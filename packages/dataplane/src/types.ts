// Structural interfaces the data plane needs from its neighbours (TLS, balancer, metrics, logging).
// The app wires the real implementations in; the data plane imports none of those packages.
import type { SecureContext } from 'node:tls';
import type { RouteTable } from '@gateway/routing';
import type { Backend, Endpoint, EndpointTable, Route } from '@gateway/translate';

export type Scheme = 'http' | 'https';

/** The certificates of one configuration: structurally `@gateway/tls`'s `CertificateTables`. */
export interface SniTable {
  /** The context for an SNI name, or undefined for the default certificate. */
  lookup(servername: string): SecureContext | undefined;
}

/**
 * One configuration as the data plane serves it: immutable, replaced by one reference assignment. A
 * request (or handshake) reads it once and keeps it to the end. Endpoints are not in it: they are an
 * `EndpointTable` of their own, swapped on its own when only endpoints change.
 */
export interface Active {
  readonly routes: RouteTable<Route>;
  readonly certificates: SniTable;
}

export type { EndpointTable };

/** What `node:https` needs to serve SNI: structurally `@gateway/tls`'s `CertificateStore`. */
export interface CertificateSource {
  /** `current()` is asked at each handshake for the certificates of the active configuration. */
  serverOptions(current: () => SniTable): {
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
    key: string;
    cert: string;
    minVersion: 'TLSv1.2';
    ALPNProtocols: string[];
    /** Session-ticket keys shared by every listening socket (and worker); made per data plane when absent. */
    ticketKeys?: Buffer;
  };
}

/** Structurally `@gateway/balancer`'s `EndpointPicker`. */
export interface EndpointChooser {
  /** `exclude` holds `address:port` keys of endpoints this request already failed to connect to. */
  pick(
    backend: Backend,
    endpoints: readonly Endpoint[],
    clientIp: string,
    exclude?: ReadonlySet<string>,
  ): Endpoint | undefined;
}

/**
 * One finished request, with ingress-nginx's variable names for the access log and what metrics need.
 * A WebSocket is reported once, when the tunnel closes (status 101, request_time = tunnel lifetime),
 * or at once when the upgrade fails (with the status the client got).
 */
export interface RequestRecord {
  /** ISO 8601 time the request ended (nginx `$time_iso8601` is the time the log line is written). */
  time: string;
  remote_addr: string;
  method: string;
  /** Normalised host (lowercase, no port), as nginx's `$host`. */
  host: string;
  /** The request-target as the client sent it (origin form), nginx's `$request_uri`. */
  path: string;
  status: number;
  /** Bytes written to the client: status line, headers and body. */
  bytes_sent: number;
  /** Request line, headers and body, as received. */
  request_length: number;
  /** Seconds, millisecond resolution. */
  request_time: number;
  /** From the matched rule; '' when unmatched. */
  namespace: string;
  ingress: string;
  service: string;
  /** `address:port` of each upstream tried, joined by ', ' as nginx does; '' when none. */
  upstream_addr: string;
  /** Status of each upstream attempt ('502' for one that failed), joined by ', '; '' when none. */
  upstream_status: string;
  /** Seconds spent on the upstream side (all attempts), or null when no upstream was tried. */
  upstream_response_time: number | null;
  /** X-Request-ID as forwarded (kept from the client or generated). */
  req_id: string;
  /** The matched route (metric labels come from it), undefined when nothing matched. */
  route: Route | undefined;
  scheme: Scheme;
}

export interface RequestObserver {
  requestEnded(record: RequestRecord): void;
  connectionOpened?(scheme: Scheme): void;
  connectionClosed?(scheme: Scheme): void;
}

/** The subset of pino the data plane uses. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DataPlaneOptions {
  /** Bind address; default '0.0.0.0'. */
  host?: string;
  httpPort: number;
  httpsPort: number;
  certificates: CertificateSource;
  picker: EndpointChooser;
  observer?: RequestObserver;
  logger?: Logger;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait between two reads from the backend (nginx proxy_read_timeout); default 60000 → 504. */
  readTimeoutMs?: number;
  /** Longest wait between two writes to the backend (nginx proxy_send_timeout); default 60000. */
  sendTimeoutMs?: number;
  /**
   * Tries per request when connections fail (refused, reset before sending, connect timeout), the first
   * included, over distinct endpoints (ingress-nginx's proxy-next-upstream-tries); 0: no limit but the
   * endpoints. The replay of an idempotent request whose pooled connection the backend had closed does
   * not count. Applies to WebSocket upgrades too. Default 3.
   */
  nextUpstreamTries?: number;
  /**
   * No further try starts this long after the request's first one did (ingress-nginx's
   * proxy-next-upstream-timeout, in ms); 0: no limit. Default 0.
   */
  nextUpstreamTimeoutMs?: number;
  /** Port put into https redirects, omitted when 443; default 443. */
  redirectHttpsPort?: number;
  /** Request line plus headers limit; above it 431. Default 16384. */
  maxHeaderBytes?: number;
  /**
   * Refuse ExternalName backends whose name resolves to a loopback or link-local address
   * (CVE-2021-25740; cluster mode). Default false (a standalone file may use one).
   */
  refuseLocalExternalNames?: boolean;
  /**
   * Listening sockets per port (SO_REUSEPORT), so a busy process accepts that many connections per turn
   * of its event loop instead of one (see acceptors.ts). Default 1.
   */
  acceptors?: number;
  /**
   * This process is one of several (node:cluster workers) that bind the ports each with SO_REUSEPORT:
   * its sockets are its own, not the primary's shared handle (see acceptors.ts). Default false.
   */
  reusePortWithSiblings?: boolean;
}
