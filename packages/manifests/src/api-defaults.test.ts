import { describe, expect, it } from 'vitest';
import { parseManifests } from './parse.js';

const service = (spec: string) => `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
${spec}`;

describe('API server defaults before validation (empty and absent alike)', () => {
  const table: Array<{ name: string; text: string; expected: unknown; errors?: string[] }> = [
    {
      name: 'Service: type, sessionAffinity and port protocol ""',
      text: service(`  type: ""\n  sessionAffinity: ""\n  ports: [{port: 80, protocol: ""}]\n`),
      expected: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP' }] },
    },
    {
      name: 'Service: absent',
      text: service(`  ports: [{port: 80}]\n`),
      expected: { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP' }] },
    },
    {
      name: 'Service: set values stay',
      text: service(`  type: NodePort\n  sessionAffinity: ClientIP\n  ports: [{port: 53, protocol: UDP}]\n`),
      expected: { type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ port: 53, protocol: 'UDP' }] },
    },
    {
      name: 'Service: other values are still checked',
      text: service(`  type: clusterip\n  ports: [{port: 80}]\n`),
      expected: undefined,
      errors: [
        '5 spec.type: unsupported value "clusterip": must be one of "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      ],
    },
    {
      name: 'Endpoints: port protocol ""',
      text: 'apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 80, protocol: ""}, {port: 81}]}]\n',
      expected: [
        {
          addresses: [{ ip: '10.0.0.1' }],
          ports: [
            { port: 80, protocol: 'TCP' },
            { port: 81, protocol: 'TCP' },
          ],
        },
      ],
    },
    {
      name: 'EndpointSlice: protocol "" is not defaulted by the API server (a pointer field), which rejects it',
      text: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1}\naddressType: IPv4\nendpoints: []\nports: [{port: 80, protocol: ""}]\n',
      expected: undefined,
      errors: ['6 ports[0].protocol: unsupported value "": must be one of "SCTP", "TCP", "UDP"'],
    },
  ];
  it.each(table)('$name', ({ text, expected, errors = [] }) => {
    const { objects, diagnostics } = parseManifests(text, 'f.yaml');
    expect(diagnostics.map((d) => `${d.line} ${d.field}: ${d.message}`)).toEqual(errors);
    const o = objects[0]?.object;
    const got =
      o === undefined ? undefined : o.kind === 'Service' ? o.spec : o.kind === 'Endpoints' ? o.subsets : o;
    expect(got).toEqual(expected);
  });
});
