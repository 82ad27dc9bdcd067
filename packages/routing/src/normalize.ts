// Normalisation of the Host header and of the request path, done once per request before matching.

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const HEX = '0123456789ABCDEF';

/**
 * `Foo.COM:8080` → `foo.com`, `[::1]:8080` → `[::1]`, `foo.com.` → `foo.com`.
 * The port is ignored as the Ingress API says (a host never carries a port); one trailing dot (the DNS
 * root) is stripped so `foo.com.` cannot dodge a rule for `foo.com`.
 */
export function normalizeHost(raw: string): string {
  let end = raw.length;
  if (raw.charCodeAt(0) === 0x5b /* [ */) {
    const close = raw.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = raw.indexOf(':');
    // A bare IPv6 literal (more than one colon) has no port to strip.
    if (colon >= 0 && raw.indexOf(':', colon + 1) < 0) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === DOT) end--;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return host.toLowerCase();
}

/**
 * The path a request is matched by, as nginx computes `$uri` (but `%2F` stays encoded): the query is
 * ignored, escapes of unreserved characters (RFC 3986 2.3) are decoded (`%2e` → `.`, `%41` → `A`), other
 * escapes are kept with uppercase hex (`%2f` → `%2F`, which is not a separator), dot segments are removed
 * (RFC 3986 5.2.4) and repeated slashes merged.
 *
 * Returns `undefined` when the request must be answered 400: the target does not start with `/`, an
 * escape is malformed (`/%zz`, `/%4`), or a `..` climbs above the root (`/..`, `/a/../../b`).
 * A request is thus never routed by a prefix it only appears to have: `/admin/../public` matches as
 * `/public`, `/public/%2e%2e/admin` as `/admin`.
 */
export function normalizePath(target: string): string | undefined {
  let end = target.indexOf('?');
  if (end < 0) end = target.length;
  if (end === 0 || target.charCodeAt(0) !== SLASH) return undefined;
  if (isCanonical(target, end)) return end === target.length ? target : target.slice(0, end);
  return normalizeSlow(target, end);
}

/** True when `target[0, end)` needs no work: no escape, no dot segment, no empty segment. */
function isCanonical(target: string, end: number): boolean {
  for (let i = 1; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === PERCENT) return false;
    if (target.charCodeAt(i - 1) === SLASH && (c === SLASH || c === DOT)) {
      if (c === SLASH) return false;
      // A segment starting with a dot: `.` and `..` are dot segments, `.well-known` is not.
      const n = i + 1 < end ? target.charCodeAt(i + 1) : SLASH;
      if (n === SLASH) return false;
      if (n === DOT && (i + 2 >= end || target.charCodeAt(i + 2) === SLASH)) return false;
    }
  }
  return true;
}

function normalizeSlow(target: string, end: number): string | undefined {
  const segments: string[] = [];
  // Whether the output ends with a slash: after an empty, `.` or `..` last segment (RFC 3986 5.2.4).
  let trailingSlash = false;
  let start = 1;
  while (start <= end) {
    let stop = target.indexOf('/', start);
    if (stop < 0 || stop > end) stop = end;
    const segment = decodeSegment(target, start, stop);
    if (segment === undefined) return undefined;
    if (segment === '' || segment === '.') {
      trailingSlash = true;
    } else if (segment === '..') {
      if (segments.pop() === undefined) return undefined;
      trailingSlash = true;
    } else {
      segments.push(segment);
      trailingSlash = false;
    }
    start = stop + 1;
  }
  if (segments.length === 0) return '/';
  const path = `/${segments.join('/')}`;
  return trailingSlash ? `${path}/` : path;
}

function decodeSegment(target: string, start: number, stop: number): string | undefined {
  let percent = target.indexOf('%', start);
  if (percent < 0 || percent >= stop) return target.slice(start, stop);
  let out = '';
  let copied = start;
  while (percent >= 0 && percent < stop) {
    const hi = hexValue(target.charCodeAt(percent + 1));
    const lo = percent + 2 < stop ? hexValue(target.charCodeAt(percent + 2)) : -1;
    if (hi < 0 || lo < 0) return undefined;
    const byte = hi * 16 + lo;
    out += target.slice(copied, percent);
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
    copied = percent + 3;
    percent = target.indexOf('%', copied);
  }
  return out + target.slice(copied, stop);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === DOT ||
    c === 0x5f ||
    c === 0x7e
  );
}
