// ExternalName targets that would make the gateway connect to itself or to the node's metadata service
// (CVE-2021-25740). Only literals are judged here; a name that resolves to such an address is refused by
// the data plane at connect time.

/**
 * True for `localhost` (and `*.localhost`, RFC 6761), and for IP literals in 127.0.0.0/8, 169.254.0.0/16,
 * 0.0.0.0/8 (connecting to 0.0.0.0 reaches the local host), ::1, ::, fe80::/10 and IPv4-mapped forms of
 * those. IPv4 literals are read as a resolver reads them (`127.1`, `0x7f.1`, `2130706433`).
 */
export function isLoopbackOrLinkLocal(name: string): boolean {
  const host = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  let parsed: string;
  try {
    // The WHATWG host parser canonicalises IPv4 (every legacy form) and IPv6 literals.
    parsed = new URL(`http://${host.includes(':') ? `[${host}]` : host}/`).hostname;
  } catch {
    return false;
  }
  if (parsed.startsWith('[')) {
    const groups = ipv6Groups(parsed.slice(1, -1));
    return groups !== undefined && ipv6Refused(groups);
  }
  const octets = ipv4Octets(parsed);
  return octets !== undefined && ipv4Refused(octets);
}

function ipv4Octets(host: string): number[] | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
  return host.split('.').map(Number);
}

function ipv4Refused([a, b]: number[]): boolean {
  return a === 127 || a === 0 || (a === 169 && b === 254);
}

/** Eight 16-bit groups of a canonical (URL-serialised, hex only) IPv6 address. */
function ipv6Groups(addr: string): number[] | undefined {
  const [head, tail, extra] = addr.split('::');
  if (extra !== undefined) return undefined;
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = parse(head);
  const right = parse(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(Math.max(fill, 0)).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function ipv6Refused(g: number[]): boolean {
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(7) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  if (((g[0] ?? 0) & 0xffc0) === 0xfe80) return true; // fe80::/10
  if (zeroTo(5) && g[5] === 0xffff) {
    const v4 = [(g[6] ?? 0) >> 8, (g[6] ?? 0) & 0xff]; // ::ffff:a.b.c.d
    return ipv4Refused(v4);
  }
  return false;
}
