// Hints for unknown fields, as `kubectl --validate=strict` users expect: "host" → "hosts".

/** The allowed name closest to `name`, or undefined when none is close enough to be a useful hint. */
export function didYouMean(name: string, allowed: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const score = closeness(lower, candidate.toLowerCase());
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

// Lower is closer; Infinity is "not close". Plural/singular and case slips come first, then small edit
// distances, then prefixes ("secret" → "secretName").
function closeness(name: string, candidate: string): number {
  if (name === candidate) return 0;
  if (candidate === `${name}s` || name === `${candidate}s`) return 1;
  const distance = editDistance(name, candidate);
  if (distance <= Math.max(1, Math.floor(name.length / 3))) return 1 + distance;
  const shorter = Math.min(name.length, candidate.length);
  if (shorter >= 3 && (candidate.startsWith(name) || name.startsWith(candidate))) {
    return 10 + Math.abs(name.length - candidate.length);
  }
  return Number.POSITIVE_INFINITY;
}

/** Optimal string alignment distance: Levenshtein plus transpositions ("sepc" → "spec" is 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
