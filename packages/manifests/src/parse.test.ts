import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './format.js';
import { parseManifests } from './parse.js';

const svc = (name: string, extra = '') =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${extra}spec:\n  ports: [{port: 80}]\n`;

describe('parseManifests', () => {
  it('reports the seed mistake with file, line, object and field', () => {
    const text = `# seed example
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ingress-http
  namespace: dev
spec:
  tls:
    - host: [nginx.example.test]
      secret: {name: nginx-tls}
  rules:
    - host: nginx.example.test
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: nginx, port: {number: 80}}}}
---
${svc('nginx')}`;
    const { objects, diagnostics } = parseManifests(text, 'config/app.yaml');
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'config/app.yaml:9: Ingress dev/ingress-http: spec.tls[0].host: unknown field "host" (did you mean "hosts"?)',
      'config/app.yaml:10: Ingress dev/ingress-http: spec.tls[0].secret: unknown field "secret" (did you mean "secretName"?)',
    ]);
    // The invalid Ingress is left out, the rest is kept.
    expect(objects.map((o) => o.object.kind)).toEqual(['Service']);
  });

  it.each<[string, string, string[]]>([
    [
      'a wrong type on its own line',
      `${svc('a').replace('ports: [{port: 80}]', 'ports:\n    - name: http\n      port: "eighty"')}`,
      [
        'f.yaml:8: Service default/a: spec.ports[0].port: invalid type: expected integer, got string "eighty"',
      ],
    ],
    [
      'a missing field at its parent',
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n    - http:\n        paths:\n          - path: /\n            pathType: Prefix\n',
      ['f.yaml:8: Ingress default/i: spec.rules[0].http.paths[0].backend: missing required field "backend"'],
    ],
    [
      'a YAML syntax error',
      `${svc('a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   bad: indentation\n`,
      ['f.yaml:11: YAML: Nested mappings are not allowed in compact mappings (column 9)'],
    ],
    [
      'an unterminated flow sequence',
      'kind: Service\nspec: [a, b\n',
      [
        'f.yaml:3: YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (column 1)',
      ],
    ],
    [
      'a duplicate key',
      `${svc('a')}metadata: {name: b}\n`,
      ['f.yaml:7: YAML: Map keys must be unique (column 1)'],
    ],
    [
      'a document that is not a mapping',
      '- a\n- b\n',
      ['f.yaml:1: expected a Kubernetes object (a mapping with apiVersion and kind), got array'],
    ],
    [
      'a document without kind',
      'apiVersion: v1\nmetadata: {name: a}\n',
      ['f.yaml:1: a: kind: missing required field "kind"'],
    ],
  ])('reports %s', (_, text, expected) => {
    expect(parseManifests(text, 'f.yaml').diagnostics.map(formatDiagnostic)).toEqual(expected);
  });

  it('keeps the line of each document and counts order from firstOrder', () => {
    const text = `---\n${svc('a')}---\n# comment\n\n${svc('b')}...\n---\n${svc('c')}`;
    const { objects, diagnostics } = parseManifests(text, 'f.yaml', 10);
    expect(diagnostics).toEqual([]);
    expect(objects.map((o) => [o.object.metadata.name, o.source])).toEqual([
      ['a', { file: 'f.yaml', line: 2, order: 10 }],
      ['b', { file: 'f.yaml', line: 11, order: 11 }],
      ['c', { file: 'f.yaml', line: 19, order: 12 }],
    ]);
  });

  it('skips other kinds silently, and empty documents', () => {
    const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {whatever: 1}\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${svc('a')}`;
    const { objects, diagnostics } = parseManifests(text, 'f.yaml');
    expect(diagnostics).toEqual([]);
    expect(objects.map((o) => o.object.metadata.name)).toEqual(['a']);
  });

  it('accepts an empty file', () => {
    expect(parseManifests('', 'f.yaml')).toEqual({ objects: [], diagnostics: [] });
    expect(parseManifests('# nothing\n', 'f.yaml')).toEqual({ objects: [], diagnostics: [] });
  });

  it('defaults the namespace to default', () => {
    const { objects } = parseManifests(`${svc('a')}---\n${svc('b', '  namespace: prod\n')}`, 'f.yaml');
    expect(objects.map((o) => o.object.metadata.namespace)).toEqual(['default', 'prod']);
  });

  it('expands a List, with the line of each item and errors inside items', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: a}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d}
  - apiVersion: v1
    kind: Service
    metadata: {name: b}
    spec: {type: Internal}
  - apiVersion: v1
    kind: Endpoints
    metadata: {name: a}
`;
    const { objects, diagnostics } = parseManifests(text, 'list.yaml');
    expect(
      objects.map((o) => [o.object.kind, o.object.metadata.name, o.source.line, o.source.order]),
    ).toEqual([
      ['Service', 'a', 4, 0],
      ['Endpoints', 'a', 14, 1],
    ]);
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'list.yaml:13: Service default/b: spec.type: unsupported value "Internal": must be one of "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ]);
  });

  it('reads JSON, and YAML anchors and merge keys', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'j' },
      spec: { ports: [{ port: 80 }] },
    });
    expect(parseManifests(json, 'f.json').objects.map((o) => o.object.metadata.name)).toEqual(['j']);
    const yaml = `apiVersion: v1\nkind: Service\nmetadata: &m {name: y, labels: {a: b}}\nspec:\n  selector:\n    <<: {app: web}\n    tier: front\n`;
    const { objects, diagnostics } = parseManifests(yaml, 'f.yaml');
    expect(diagnostics).toEqual([]);
    expect(objects[0]?.object).toMatchObject({ spec: { selector: { app: 'web', tier: 'front' } } });
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      lines.push(`${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`);
    const { diagnostics } = parseManifests(lines.join('\n'), 'f.yaml');
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]?.severity).toBe('error');
  });
});
