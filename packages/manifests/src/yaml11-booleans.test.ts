import { describe, expect, it } from 'vitest';
import { parseManifests } from './parse.js';

const slice = (ready: string) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
  - addresses: [10.0.0.1]
    conditions:
      ready: ${ready}
`;
const readyOf = (text: string) => {
  const { objects } = parseManifests(text, 'f.yaml');
  const o = objects[0]?.object;
  return o?.kind === 'EndpointSlice' ? o.endpoints[0]?.conditions?.ready : 'rejected';
};

describe('YAML 1.1 booleans at boolean fields, as kubectl (go-yaml v2) reads them', () => {
  const table: Array<[string, boolean | 'rejected']> = [
    ...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE'].map(
      (s) => [s, true] as [string, boolean],
    ),
    ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE'].map(
      (s) => [s, false] as [string, boolean],
    ),
    // Quoted, a string in go-yaml too: the API server rejects it, so do we.
    ['"yes"', 'rejected'],
    ["'on'", 'rejected'],
    ['yEs', 'rejected'],
    ['1', 'rejected'],
  ];
  it.each(table)('ready: %s → %s', (text, expected) => {
    expect(readyOf(slice(text))).toBe(expected);
  });

  it('a string field keeps the text, and errors keep their line', () => {
    const text = `${slice('maybe')}---
apiVersion: v1
kind: Service
metadata: {name: yes, annotations: {a: on}}
spec:
  ports: [{name: y, port: 80}]
  publishNotReadyAddresses: Off
`;
    const { objects, diagnostics } = parseManifests(text, 'f.yaml');
    expect(diagnostics.map((d) => `${d.line} ${d.field}: ${d.message}`)).toEqual([
      '10 endpoints[0].conditions.ready: invalid type: expected boolean, got string "maybe"',
    ]);
    const svc = objects[0]!.object;
    expect(
      svc.kind === 'Service' && [
        svc.metadata.name,
        svc.metadata.annotations,
        svc.spec?.ports?.[0]?.name,
        (svc.spec as Record<string, unknown> | undefined)?.publishNotReadyAddresses,
      ],
    ).toEqual(['yes', { a: 'on' }, 'y', false]);
  });
});
