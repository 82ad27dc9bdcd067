// A configuration crosses to a worker as the changes to the one it holds: the worker's rebuilt payload
// equals the one the primary made, and keeps the worker's own rule objects where nothing changed (its
// route table reuses their paths). Both sides go through v8.serialize as over the IPC channel.
import v8 from 'node:v8';
import { buildSnapshot, parseManifests, type SourcedObject } from '@gateway/manifests';
import { compileRoutes } from '@gateway/routing';
import {
  defaultTranslateOptions,
  type EndpointTable,
  LayeredEndpointTable,
  translate,
} from '@gateway/translate';
import { describe, expect, it } from 'vitest';
import { applyConfigDelta, configDelta } from './config-delta.js';
import {
  type ConfigPayload,
  decodeDelta,
  encodeDelta,
  endpointChanges,
  toPayload,
  withChanges,
} from './worker-protocol.js';

const service = (name: string, port = 80) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: app}
spec: {ports: [{name: http, port: ${port}}]}
`;
const slice = (name: string, ip: string) => `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: app, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: ["${ip}"]}]
`;
const ingress = (name: string, host: string, backend: string, extra = '') => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: app}
spec:
  rules:
    - host: ${host}
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: ${backend}, port: {number: 80}}}}
          - {path: /api, pathType: Exact, backend: {service: {name: ${backend}, port: {name: http}}}}${extra}
`;
const extraPath = `
          - {path: /new, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`;

const one = (text: string, order: number): SourcedObject => {
  const [object] = parseManifests(text, `obj-${order}.yaml`).objects;
  return { ...object!, source: { ...object!.source, order } };
};

/** Objects by name; a step replaces some (new objects) and keeps the others (the same objects). */
function world(): Map<string, SourcedObject> {
  const texts: Record<string, string> = {
    web: service('web'),
    api: service('api'),
    webSlice: slice('web', '127.0.3.1'),
    apiSlice: slice('api', '127.0.3.2'),
  };
  for (let i = 0; i < 20; i++) texts[`ing${i}`] = ingress(`ing${i}`, `h${i}.test`, i % 2 ? 'web' : 'api');
  return new Map(Object.entries(texts).map(([name, text], i) => [name, one(text, i)]));
}

function payloadOf(objects: Map<string, SourcedObject>): ConfigPayload {
  const { snapshot } = buildSnapshot(objects.values());
  return toPayload(translate(snapshot, defaultTranslateOptions()).config);
}

const overIpc = <T>(value: T): T => v8.deserialize(v8.serialize(value)) as T;
const byKey = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
/** As data; the maps by key (a worker reads them by key: their order is not kept). */
const plain = (p: ConfigPayload) => ({ ...p, backends: byKey(p.backends), endpoints: byKey(p.endpoints) });

/** A change, and how many rules cross as new objects: those of the objects it touched. */
const steps: Array<[string, (objects: Map<string, SourcedObject>) => void, number]> = [
  [
    'one Ingress gains a path',
    (o) => o.set('ing3', one(ingress('ing3', 'h3.test', 'web', extraPath), 103)),
    3,
  ],
  ['one Ingress goes', (o) => o.delete('ing7'), 0],
  ['one Ingress comes', (o) => o.set('ing20', one(ingress('ing20', 'h20.test', 'web'), 120)), 2],
  // The 10 Ingresses on api, 2 paths each: their routes reach a new backend.
  ['a Service changes its port', (o) => o.set('api', one(service('api', 81), 101)), 20],
  ['a slice changes (endpoints only)', (o) => o.set('webSlice', one(slice('web', '127.0.3.9'), 102)), 0],
];

describe('configuration deltas', () => {
  it('rebuild on the worker what the primary made, keeping the worker’s unchanged rule objects', () => {
    const objects = world();
    let primary = payloadOf(objects);
    // The worker holds what it deserialized: objects of its own, equal to the primary's.
    let worker = overIpc(primary);
    let seq = 1;
    for (const [, change, fresh] of steps) {
      change(objects);
      const next = payloadOf(objects);
      const delta = configDelta(primary, seq, primary.endpoints, next);
      expect(delta).toBeDefined();
      const received = decodeDelta(overIpc(encodeDelta(delta!)));
      const rebuilt = applyConfigDelta(worker, worker.endpoints, received);
      expect(plain(rebuilt)).toEqual(plain(next));
      // Rules the primary kept are the worker's own objects again, at their new places.
      const kept = new Set(primary.rules.rules);
      const index = new Map(primary.rules.rules.map((r, i) => [r, i]));
      next.rules.rules.forEach((rule, i) => {
        if (kept.has(rule)) expect(rebuilt.rules.rules[i]).toBe(worker.rules.rules[index.get(rule)!]);
      });
      const crossed = received.rules.flatMap((segment) => ('rules' in segment ? segment.rules : []));
      expect(crossed.length).toBe(fresh);
      primary = next;
      worker = rebuilt;
      seq++;
    }
  });

  it('lets the worker’s table reuse the paths of unchanged hosts, and answer as a fresh table', () => {
    const objects = world();
    const primary = payloadOf(objects);
    const worker = overIpc(primary);
    const before = compileRoutes(worker.rules, { reuse: true });
    objects.set('ing3', one(ingress('ing3', 'h3.test', 'web', extraPath), 103));
    const next = payloadOf(objects);
    const rebuilt = applyConfigDelta(
      worker,
      worker.endpoints,
      configDelta(primary, 1, primary.endpoints, next)!,
    );
    const after = compileRoutes(rebuilt.rules, { reuse: true });
    const fresh = compileRoutes(overIpc(next).rules);
    for (const [host, path] of [
      ['h3.test', '/new/x'],
      ['h3.test', '/api'],
      ['h4.test', '/'],
      ['h5.test', '/api'],
      ['nope.test', '/'],
    ] as const) {
      expect(after.match(host, path)).toEqual(fresh.match(host, path));
    }
    expect(after.match('h3.test', '/new/x')?.path).toBe('/new');
    expect(before.match('h3.test', '/new/x')?.path).toBe('/');
  });

  it('sends the whole configuration when most of it is new', () => {
    const objects = world();
    const primary = payloadOf(objects);
    for (let i = 0; i < 20; i++)
      objects.set(`ing${i}`, one(ingress(`ing${i}`, `n${i}.test`, 'web'), 200 + i));
    expect(configDelta(primary, 1, primary.endpoints, payloadOf(objects))).toBeUndefined();
  });

  it('carries the endpoint changes since the table the workers hold', () => {
    const objects = world();
    const primary = payloadOf(objects);
    const held = new Map(primary.endpoints);
    const [key] = [...held.keys()];
    held.set(key!, [{ address: '127.0.3.77', port: 8080 }]);
    objects.set('ing0', one(ingress('ing0', 'h0.test', 'api', extraPath), 100));
    const next = payloadOf(objects);
    const delta = configDelta(primary, 1, held, next)!;
    expect(delta.endpoints).toEqual(endpointChanges(held, next.endpoints));
    expect(byKey(applyConfigDelta(overIpc(primary), held, delta).endpoints)).toEqual(byKey(next.endpoints));
  });

  it('endpoint changes between layered tables (EndpointSlice changes) are the layered entries alone', () => {
    const e = (address: string) => [{ address, port: 8080 }];
    const base = new Map(Array.from({ length: 50 }, (_, i) => [`app/s${i}:80`, e(`127.0.4.${i}`)] as const));
    const one = refreshed(base, [['app/s1:80', e('127.0.5.1')]]);
    const two = refreshed(one, [['app/s2:80', e('127.0.5.2')]]);
    for (const [from, to] of [
      [base, one],
      [one, two],
      [base, two],
    ] as const) {
      const changes = endpointChanges(from, to);
      expect(byKey(withChanges(from, changes))).toEqual(byKey(to));
      expect(changes.length).toBeLessThanOrEqual(2);
    }
    expect(endpointChanges(one, two)).toEqual([['app/s2:80', e('127.0.5.2')]]);
  });
});

/** What refreshEndpoints makes of `table` with these entries set (a layer over its base). */
function refreshed(
  table: EndpointTable,
  entries: [string, { address: string; port: number }[]][],
): EndpointTable {
  const base = table instanceof LayeredEndpointTable ? table.base : table;
  const changed = new Map([...(table instanceof LayeredEndpointTable ? table.changed : []), ...entries]);
  return new LayeredEndpointTable(base, changed);
}
