// Self time by function of a V8 .cpuprofile (node --cpu-prof): where a run spent its CPU.
//   node benchmarks/cpuprofile-summary.mjs FILE.cpuprofile [--top 30] [--from MS --to MS] [--under FN]
// --from/--to keep only the samples in that window (ms since the profile started); --under only those
// with function FN on the stack (e.g. --under translate, --under applyEndpoints).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    from: { type: 'string' },
    to: { type: 'string' },
    under: { type: 'string' },
  },
});
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const from = values.from === undefined ? -Infinity : Number(values.from) * 1000;
const to = values.to === undefined ? Infinity : Number(values.to) * 1000;
const self = new Map();
const total = new Map();
let t = 0;
let counted = 0;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i];
  if (t < from || t > to) return;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const label = (n) => {
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\/.*?\/(node_modules|packages|apps)\//, '$1/');
    return `${f.functionName || '(anonymous)'}  ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  };
  const n = nodes.get(id);
  if (values.under !== undefined) {
    let cur = id;
    while (cur !== undefined && nodes.get(cur).callFrame.functionName !== values.under) cur = parent.get(cur);
    if (cur === undefined) return;
  }
  counted += dt;
  self.set(label(n), (self.get(label(n)) ?? 0) + dt);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(nodes.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
});
const top = Number(values.top);
const print = (title, m) => {
  console.log(`\n${title} (of ${(counted / 1000).toFixed(0)} ms sampled)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(v / 1000).toFixed(1).padStart(9)} ms ${((100 * v) / counted).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
};
print('self time', self);
print('total time (inclusive)', total);
