import { describe, expect, it } from 'vitest';
import { simpleIngress, slice, snapshot, webService } from './builders.test-support.js';
import { backendsByService, refreshEndpoints } from './endpoint-table.js';
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
    expect(refreshEndpoints(before, changed, new Set(['default/web']))).toEqual(full.endpoints);
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
