// One route decision for plain requests and WebSocket upgrades alike: from what the client sent (the
// request-target, the Host header) and the listener it came in on, to forward / redirect / answer.
// Pure: no I/O, nothing written. Header checks that differ between the two paths (Host count,
// Transfer-Encoding) stay with their callers; everything about the target and the route is here.
import { normalizeHost, normalizePath } from '@gateway/routing';
import type { Backend, Endpoint, EndpointTable, Route } from '@gateway/translate';
import type { Active, Scheme } from './types.js';

export type RouteDecision =
  | {
      readonly kind: 'forward';
      readonly route: Route;
      readonly backend: Backend;
      /** The backend's endpoints now; every try of this request picks from this list. */
      readonly endpoints: readonly Endpoint[];
      /** Normalised host (lowercase, no port): what was matched and what is logged. */
      readonly host: string;
      /** Normalised path: what was matched. */
      readonly path: string;
      /** The request-target the backend receives: origin form, exactly as sent. */
      readonly forwardUrl: string;
      /** The Host the backend receives: the absolute form's authority, else the Host header. */
      readonly authority: string;
    }
  | {
      readonly kind: 'redirect';
      readonly route: Route;
      readonly host: string;
      /** The origin-form target (what is logged). */
      readonly forwardUrl: string;
      readonly location: string;
    }
  | {
      readonly kind: 'answer';
      readonly status: 400 | 404 | 503;
      readonly route: Route | undefined;
      /** '' when the target did not parse (nothing was matched). */
      readonly host: string;
      /** The origin-form target when it parsed, else the target as sent (what is logged). */
      readonly forwardUrl: string;
    };

const ABSOLUTE_FORM = /^https?:\/\/([^/?#@]*)([^#]*)$/i;

/**
 * RFC 3986 §3.2.2-3 `host [ ":" port ]`: an IP-literal, or a reg-name (IPv4 included) of unreserved,
 * pct-encoded and sub-delims characters. RFC 9112 §3.2: a Host with an invalid value is answered 400,
 * as nginx does; empty is valid (a target without an authority).
 */
const VALID_AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;
/** The last authority found valid: most requests in a row carry the same Host, checked once then. */
let lastValidAuthority = '';

function badTarget(rawUrl: string): RouteDecision {
  return { kind: 'answer', status: 400, route: undefined, host: '', forwardUrl: rawUrl };
}

/**
 * Decides what to do with a request (or upgrade) that came in on a `scheme` listener with `rawUrl` as
 * its request-target and `hostHeader` as its (single) Host header, against the configuration and
 * endpoints in force (`redirectPortSuffix`: `:PORT` put into https redirects, '' for 443).
 * - An absolute-form target (RFC 9112 §3.2.2) is routed by its authority, not by Host, and forwarded
 *   in origin form with that authority as Host.
 * - A target that does not normalise (`/%zz`, climbing above the root, `*`, garbage), or a Host (or
 *   absolute-form authority) that is not `host[:port]`: 400.
 * - No route: 404. A TLS host over plain HTTP: 308 to https. No ready endpoint: 503.
 */
export function decideRoute(
  scheme: Scheme,
  rawUrl: string,
  hostHeader: string | undefined,
  active: Active | undefined,
  endpointTable: EndpointTable,
  redirectPortSuffix: string,
): RouteDecision {
  let url = rawUrl;
  let authority = hostHeader ?? '';
  if (url.charCodeAt(0) !== 0x2f /* / */) {
    const m = ABSOLUTE_FORM.exec(url);
    if (m === null || m[1] === '') return badTarget(rawUrl);
    authority = m[1]!;
    const rest = m[2]!;
    url = rest === '' || rest.charCodeAt(0) === 0x3f /* ? */ ? `/${rest}` : rest;
  }
  if (authority !== lastValidAuthority) {
    if (!VALID_AUTHORITY.test(authority)) return badTarget(url);
    lastValidAuthority = authority;
  }
  const path = normalizePath(url);
  if (path === undefined) return badTarget(url);
  const host = normalizeHost(authority);
  const route = active?.routes.match(host, path);
  if (route === undefined) return { kind: 'answer', status: 404, route: undefined, host, forwardUrl: url };
  if (route.tlsRedirect && scheme === 'http') {
    return {
      kind: 'redirect',
      route,
      host,
      forwardUrl: url,
      location: `https://${host}${redirectPortSuffix}${url}`,
    };
  }
  const backend = route.backend;
  const endpoints = backend === undefined ? undefined : endpointTable.get(backend.key);
  if (backend === undefined || endpoints === undefined || endpoints.length === 0) {
    return { kind: 'answer', status: 503, route, host, forwardUrl: url };
  }
  return { kind: 'forward', route, backend, endpoints, host, path, forwardUrl: url, authority };
}
