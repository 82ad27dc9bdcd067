import { describe, expect, it } from 'vitest';
import { simpleIngress, slice, snapshot, webService } from './builders.test-support.js';
import { backendsByService, LayeredEndpointTable, refreshEndpoints, withEntries } from './endpoint-table.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const HTTP = [{ name: 'http', port: 8080 }];
const objects = [
  simpleIngress('a', 'a.test', '/', 'web'),
  simpleIngress('b', 'b.test', '/', 'api'),
  webService('web'),
  webService('api'),
];
const before = translate(
  snapshot(
    ...objects,
    slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], HTTP),
    slice('api-1', 'api', [{ addresses: ['10.0.1.1'] }], HTTP),
  ),
  defaultTranslateOptions(),
).config;

const list = (table: ReturnType<typeof refreshEndpoints>, key: string) =>
  table.get(key)?.map((e) => `${e.address}:${e.port}`);

describe('refreshEndpoints: an EndpointSlice change recomputes only its Service', () => {
  it.each([
    {
      name: 'a new ready endpoint of web',
      slices: [
        slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }], HTTP),
        slice('api-1', 'api', [{ addresses: ['10.0.1.9'] }], HTTP),
      ],
      web: ['10.0.0.1:8080', '10.0.0.2:8080'],
    },
    {
      name: 'web not ready any more',
      slices: [slice('web-1', 'web', [{ addresses: ['10.0.0.1'], ready: false }], HTTP)],
      web: [],
    },
    {
      name: 'a second slice of web, merged',
      slices: [
        slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], HTTP),
        slice('web-2', 'web', [{ addresses: ['10.0.0.3'] }], HTTP),
      ],
      web: ['10.0.0.1:8080', '10.0.0.3:8080'],
    },
  ])('$name', ({ slices }) => {
    const next = refreshEndpoints(before, snapshot(...objects, ...slices), new Set(['default/web']));
    const expectedWeb = slices
      .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web')
      .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses))
      .map((a) => `${a}:8080`)
      .sort();
    expect(list(next, 'default/web:80')).toEqual(expectedWeb);
    // api was not named as changed: its entry is the old one even though its slice differs here.
    expect(next.get('default/api:80')).toBe(before.endpoints.get('default/api:80'));
  });

  it('returns the same table when nothing it holds changed', () => {
    const same = snapshot(...objects, slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], HTTP));
    expect(refreshEndpoints(before, same, new Set(['default/web']))).toBe(before.endpoints);
    expect(refreshEndpoints(before, same, new Set(['default/unreferenced']))).toBe(before.endpoints);
  });

  it('agrees with a full translate of the same snapshot', () => {
    const changed = snapshot(
      ...objects,
      slice('web-1', 'web', [{ addresses: ['10.0.0.7'] }, { addresses: ['10.0.0.5'] }], HTTP),
      slice('api-1', 'api', [{ addresses: ['10.0.1.1'] }], HTTP),
    );
    const full = translate(changed, defaultTranslateOptions()).config;
    // The same entries in the same order (the table read as a Map; it may be layered, not copied).
    expect([...refreshEndpoints(before, changed, new Set(['default/web']))]).toEqual([...full.endpoints]);
  });
});

describe('withEntries: a table with a few entries set, not copied', () => {
  const e = (address: string) => [{ address, port: 80 }];
  const base = new Map([
    ['a', e('10.0.0.1')],
    ['b', e('10.0.0.2')],
    ['c', e('10.0.0.3')],
  ]);
  const asMap = (t: ReadonlyMap<string, unknown>) => new Map([...t]);

  it('reads as the Map it stands for: get, has, size, and every iteration in Map order', () => {
    const t = withEntries(
      withEntries(base, new Map([['b', e('10.0.9.2')]])),
      new Map([['d', e('10.0.9.4')]]),
    );
    const expected = new Map([...base, ['b', e('10.0.9.2')], ['d', e('10.0.9.4')]]);
    expect(asMap(t)).toEqual(expected);
    expect([...t.keys()]).toEqual([...expected.keys()]);
    expect([...t.values()]).toEqual([...expected.values()]);
    const seen: string[] = [];
    t.forEach((list, key, map) => {
      seen.push(`${key}=${list[0]!.address}`);
      expect(map).toBe(t);
    });
    expect(seen).toEqual(['a=10.0.0.1', 'b=10.0.9.2', 'c=10.0.0.3', 'd=10.0.9.4']);
    expect(t.size).toBe(4);
    expect(t.has('d') && t.has('a') && !t.has('z')).toBe(true);
    expect(t.get('b')).toEqual(e('10.0.9.2'));
    expect(t.get('z')).toBeUndefined();
    // The tables it was made from are as they were.
    expect(asMap(base)).toEqual(
      new Map([
        ['a', e('10.0.0.1')],
        ['b', e('10.0.0.2')],
        ['c', e('10.0.0.3')],
      ]),
    );
  });

  it('keeps one layer over the base, and copies the whole once the layer is large', () => {
    let t: ReadonlyMap<string, readonly { address: string; port: number }[]> = base;
    for (let i = 0; i < 256; i++) t = withEntries(t, new Map([[`k${i}`, e(`10.1.0.${i % 250}`)]]));
    expect(t).toBeInstanceOf(LayeredEndpointTable);
    expect((t as LayeredEndpointTable).base).toBe(base);
    t = withEntries(t, new Map([['k256', e('10.2.0.1')]]));
    expect(t).toBeInstanceOf(Map);
    expect(t.size).toBe(3 + 257);
    expect(t.get('k7')).toEqual(e('10.1.0.7'));
    expect(t.get('a')).toBe(base.get('a'));
  });
});

describe('endpoints of a Service: merged, deduplicated, sorted', () => {
  it.each([
    { name: 'in order', addresses: [['10.0.0.1', '10.0.0.2']], web: ['10.0.0.1:8080', '10.0.0.2:8080'] },
    { name: 'out of order', addresses: [['10.0.0.9', '10.0.0.1']], web: ['10.0.0.1:8080', '10.0.0.9:8080'] },
    { name: 'a duplicate in one slice', addresses: [['10.0.0.1', '10.0.0.1']], web: ['10.0.0.1:8080'] },
    {
      name: 'a duplicate across slices',
      addresses: [['10.0.0.2'], ['10.0.0.1', '10.0.0.2']],
      web: ['10.0.0.1:8080', '10.0.0.2:8080'],
    },
  ])('$name', ({ addresses, web }) => {
    const slices = addresses.map((list, i) => slice(`web-${i}`, 'web', [{ addresses: list }], HTTP));
    const full = translate(snapshot(...objects, ...slices), defaultTranslateOptions()).config;
    expect(list(full.endpoints, 'default/web:80')).toEqual(web);
    expect(
      list(
        refreshEndpoints(before, snapshot(...objects, ...slices), new Set(['default/web'])),
        'default/web:80',
      ),
    ).toEqual(web);
  });
});

describe('backendsByService', () => {
  it('groups the backends of a configuration by Service, once per backends map', () => {
    const index = backendsByService(before.backends);
    expect([...index].map(([service, list]) => [service, list.map((b) => b.key)])).toEqual([
      ['default/api', ['default/api:80']],
      ['default/web', ['default/web:80']],
    ]);
    expect(backendsByService(before.backends)).toBe(index);
  });
});
