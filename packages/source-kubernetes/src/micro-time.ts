// Lease times are metav1.MicroTime: RFC 3339 with six fractional digits. A Date has milliseconds, so the
// last three digits are always zero.
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
