import type { KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import {
  backend,
  hit,
  ingress,
  path,
  rule,
  snapshot,
  tls,
  tlsSecret,
  webService,
} from './builders.test-support.js';
import { defaultTranslateOptions } from './options.js';
import { translate } from './translate.js';

const services = ['web', 'fallback', 'other', 'default-http'].map((n) => webService(n));
const run = (...objects: KubeObject[]) =>
  translate(snapshot(...services, ...objects), defaultTranslateOptions());
const at = (s: number) => ({ creationTimestamp: `2024-01-01T00:00:${String(s).padStart(2, '0')}Z` });

/** An Ingress with rules for `hosts` (/app → web) and a defaultBackend. */
const withRules = (name: string, hosts: string[], fallback: string, m = {}) =>
  ingress(
    name,
    {
      defaultBackend: backend(fallback, 80),
      rules: hosts.map((h) => rule(h, path('/app', backend('web', 80)))),
    },
    m,
  );
const ruleless = (name: string, to: string, m = {}) => ingress(name, { defaultBackend: backend(to, 80) }, m);

describe('defaultBackend', () => {
  const table: Array<{ name: string; objects: KubeObject[]; requests: Array<[string, string, string]> }> = [
    {
      name: 'an Ingress with rules: its defaultBackend serves unmatched paths of its own hosts only',
      objects: [withRules('site', ['a.test'], 'fallback')],
      requests: [
        ['a.test', '/app', 'default/site → default/web:80'],
        ['a.test', '/else', 'default/site → default/fallback:80'],
        ['b.test', '/else', '404'],
      ],
    },
    {
      name: 'an Ingress without rules: the catch-all for every host and path no rule takes',
      objects: [ruleless('catch', 'default-http'), withRules('site', ['a.test'], 'fallback')],
      requests: [
        ['a.test', '/else', 'default/site → default/fallback:80'],
        ['b.test', '/anything', 'default/catch → default/default-http:80'],
      ],
    },
    {
      name: 'the oldest Ingress without rules is the catch-all',
      objects: [ruleless('young', 'other', at(20)), ruleless('old', 'default-http', at(10))],
      requests: [['x.test', '/', 'default/old → default/default-http:80']],
    },
    {
      name: 'a host default is the oldest Ingress’s (among those with a defaultBackend)',
      objects: [
        withRules('young', ['a.test'], 'other', at(20)),
        withRules('old', ['a.test'], 'fallback', at(10)),
      ],
      requests: [['a.test', '/else', 'default/old → default/fallback:80']],
    },
    {
      name: 'a host of a rule without http still gets the defaultBackend',
      objects: [ingress('bare', { defaultBackend: backend('fallback', 80), rules: [{ host: 'bare.test' }] })],
      requests: [['bare.test', '/', 'default/bare → default/fallback:80']],
    },
  ];

  it.each(table)('$name', ({ objects, requests }) => {
    const { config } = run(...objects);
    for (const [host, p, expected] of requests) expect(hit(config, host, p), `${host}${p}`).toBe(expected);
  });

  it('an Ingress with rules is no catch-all candidate (ingress-nginx)', () => {
    const { config } = run(withRules('site', ['a.test'], 'fallback'));
    expect(config.rules.catchAll).toBeUndefined();
    expect(config.rules.hostDefaults?.map((d) => d.host)).toEqual(['a.test']);
    expect(config.summary.catchAll).toBe(false);
  });

  it('losers are reported on spec.defaultBackend', () => {
    const { diagnostics } = run(
      ruleless('young', 'other', at(20)),
      ruleless('old', 'default-http', at(10)),
      withRules('site2', ['a.test'], 'other', at(30)),
      withRules('site1', ['a.test'], 'fallback', at(15)),
    );
    const onDefaults = diagnostics.filter((d) => d.field === 'spec.defaultBackend');
    expect(onDefaults.map((d) => [d.name, d.field, d.message.match(/Ingress (\S+)/)?.[1]])).toEqual([
      ['site2', 'spec.defaultBackend', 'default/site1'],
      ['young', 'spec.defaultBackend', 'default/old'],
    ]);
  });

  it('a defaultBackend beside host-less rules only is unused, and reported', () => {
    const { config, diagnostics } = run(
      ingress('hostless', {
        defaultBackend: backend('fallback', 80),
        rules: [rule(undefined, path('/app', backend('web', 80)))],
      }),
    );
    expect(hit(config, 'x.test', '/else')).toBe('404');
    expect(diagnostics).toEqual([
      expect.objectContaining({ name: 'hostless', field: 'spec.defaultBackend' }),
    ]);
  });

  it('a missing defaultBackend Service still routes (503) and is reported', () => {
    const { config, diagnostics } = run(ruleless('catch', 'nope'));
    expect(hit(config, 'x.test', '/')).toBe('default/catch → 503');
    expect(diagnostics).toEqual([
      expect.objectContaining({
        name: 'catch',
        field: 'spec.defaultBackend.service.name',
        severity: 'warning',
      }),
    ]);
  });

  it('route labels of a default: path "", host the host it defaults (or "" for the catch-all)', () => {
    const { config } = run(withRules('site', ['a.test'], 'fallback'), ruleless('catch', 'default-http'));
    expect(config.rules.hostDefaults?.[0]?.target).toMatchObject({
      host: 'a.test',
      path: '',
      service: 'fallback',
    });
    expect(config.rules.catchAll).toMatchObject({
      host: '',
      path: '',
      ingress: 'catch',
      service: 'default-http',
    });
  });

  it('TLS hosts redirect on unmatched paths too: host defaults and, for hosts without one, the catch-all', () => {
    const { config } = run(
      tlsSecret('cert'),
      ingress('site', {
        defaultBackend: backend('fallback', 80),
        tls: [tls('cert', 'a.test')],
        rules: [rule('a.test', path('/app', backend('web', 80)))],
      }),
      ingress('plain-tls', {
        tls: [tls('cert', 'b.test')],
        rules: [rule('b.test', path('/app', backend('web', 80)))],
      }),
      ruleless('catch', 'default-http'),
    );
    expect(hit(config, 'a.test', '/else')).toBe('default/site → default/fallback:80 (308)');
    expect(hit(config, 'b.test', '/else')).toBe('default/catch → default/default-http:80 (308)');
    expect(hit(config, 'c.test', '/else')).toBe('default/catch → default/default-http:80');
  });
});
