// The bound series write into prom-client's own entries: what they render must be exactly what the
// ordinary (hashing) path renders, for the same requests, also across series removal. This also pins the
// prom-client internals bound-series.ts relies on (hashMap entries, sortedLabelNames, upperBounds).
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, type RequestEnded } from './gateway-metrics.js';

const routeA = { id: 'a' };
const routeB = { id: 'b' };

function ended(route: object | undefined, overrides: Partial<RequestEnded>): RequestEnded {
  const base: RequestEnded = {
    namespace: 'dev',
    ingress: 'web',
    service: 'web-svc',
    host: 'example.com',
    path: '/api',
    method: 'GET',
    status: 200,
    durationSeconds: 0.012,
    upstreamSeconds: 0.01,
    requestBytes: 120,
    responseBytes: 2048,
  };
  return route === undefined ? { ...base, ...overrides } : { ...base, ...overrides, route };
}

/** The ordinary path: labels hashed by prom-client on every call. */
function hashedEnded(m: GatewayMetrics, r: RequestEnded): void {
  (m as unknown as { requestEndedSlow(r: RequestEnded): void }).requestEndedSlow(r);
}

/** Request metrics only (process metrics differ between two registries by nature). */
async function requestSeries(m: GatewayMetrics): Promise<string[]> {
  const { body } = await m.render();
  return body
    .split('\n')
    .filter((l) =>
      /^ingress_gateway_(requests_total|request_duration|upstream_response|request_size|response_size)/.test(
        l,
      ),
    );
}

describe('bound request series', () => {
  const traffic: [object | undefined, Partial<RequestEnded>][] = [
    [routeA, {}],
    [routeA, { durationSeconds: 0.3 }],
    [routeA, { status: 503, upstreamSeconds: undefined, durationSeconds: 20, responseBytes: 5e7 }],
    [routeA, { method: 'POST', requestBytes: 2e6 }],
    [routeB, { ingress: 'api', service: 'api-svc', path: '/v1', durationSeconds: 0.001 }],
    [routeB, { ingress: 'api', service: 'api-svc', path: '/v1', status: 404, upstreamSeconds: undefined }],
    [
      undefined,
      {
        namespace: '',
        ingress: '',
        service: '',
        host: '',
        path: '',
        status: 404,
        upstreamSeconds: undefined,
      },
    ],
    [undefined, { namespace: '', ingress: '', service: '', host: '', path: '', method: 'PUT', status: 400 }],
  ];

  it('renders what the hashing path renders, request for request', async () => {
    const bound = new GatewayMetrics();
    const hashed = new GatewayMetrics();
    for (let round = 0; round < 3; round++) {
      for (const [route, o] of traffic) {
        bound.requestEnded(ended(route, o));
        hashedEnded(hashed, ended(undefined, o));
      }
    }
    const expected = await requestSeries(hashed);
    expect(expected.length).toBeGreaterThan(50);
    expect(await requestSeries(bound)).toEqual(expected);
  });

  it('stays exact across retainIngresses: removed series restart from zero, kept ones keep counting', async () => {
    const bound = new GatewayMetrics();
    const hashed = new GatewayMetrics();
    const feed = () => {
      for (const [route, o] of traffic) {
        bound.requestEnded(ended(route, o));
        hashedEnded(hashed, ended(undefined, o));
      }
    };
    feed();
    await Promise.all([
      bound.retainIngresses([{ namespace: 'dev', ingress: 'web' }]),
      hashed.retainIngresses([{ namespace: 'dev', ingress: 'web' }]),
    ]);
    expect((await requestSeries(bound)).some((l) => l.includes('ingress="api"'))).toBe(false);
    feed();
    expect(await requestSeries(bound)).toEqual(await requestSeries(hashed));
  });
});
