// Micro-benchmark of the request path, not run by the tests. After a build:
//   node packages/routing/bench/route-table.bench.ts
// A table of 200 hosts × 21 paths plus 200 wildcards and a hostless fallback.
import { compileRoutes, normalizeHost, normalizePath, type RouteRule } from '../dist/index.js';

const rules: RouteRule<string>[] = [];
for (let h = 0; h < 200; h++) {
  for (let p = 0; p < 20; p++) {
    rules.push({
      host: `svc${h}.example.com`,
      path: `/api/v${p % 3}/res${p}`,
      pathType: 'Prefix',
      target: `${h}/${p}`,
    });
  }
  rules.push({ host: `svc${h}.example.com`, path: '/healthz', pathType: 'Exact', target: `${h}/healthz` });
  rules.push({ host: `*.tenant${h}.org`, path: '/', pathType: 'Prefix', target: `tenant${h}` });
}
rules.push({ host: '', path: '/', pathType: 'Prefix', target: 'default' });
const table = compileRoutes({ rules });

let sink: unknown;
function measure(name: string, iterations: number, fn: () => unknown): void {
  for (let i = 0; i < iterations / 10; i++) sink = fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${name.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/op`);
}

const N = 1_000_000;
measure('match: exact host, deep prefix', N, () =>
  table.match('svc150.example.com', '/api/v1/res7/items/42'),
);
measure('match: exact host, Exact path', N, () => table.match('svc150.example.com', '/healthz'));
measure('match: wildcard host', N, () => table.match('acme.tenant99.org', '/some/page'));
measure('match: unknown host', N, () => table.match('nowhere.test', '/x'));
measure('normalizeHost', N, () => normalizeHost('Svc150.Example.com:8443'));
measure('normalizePath: canonical, with query', N, () => normalizePath('/api/v1/res7/items/42?q=1'));
measure('normalizePath: escapes and dot segments', N / 4, () =>
  normalizePath('/api/%76%31/../v1/./res7//items/%2e%2e/42'),
);
measure(`compileRoutes (${rules.length} rules)`, 20, () => compileRoutes({ rules }));
void sink;
