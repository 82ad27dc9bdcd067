// JSON as biome formats it (the results under benchmarks/results/ pass `biome check .`): 2-space
// indentation, and an array of scalars on one line when it fits in 110 columns.
export function asFormatted(value) {
  return JSON.stringify(value, null, 2).replace(
    /^( *)("[^"\n]*": )?\[\n((?: *(?:"[^"\n]*"|-?[\d.eE+]+|true|false|null),?\n)+) *\]/gm,
    (whole, indent, key, items) => {
      const line = `${indent}${key ?? ''}[${items
        .split('\n')
        .map((x) => x.trim())
        .filter(Boolean)
        .join(' ')}]`;
      return line.length <= 110 ? line : whole;
    },
  );
}
