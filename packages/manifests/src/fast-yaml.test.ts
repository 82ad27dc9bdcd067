import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { fastParse, resolvePlain } from './fast-yaml.js';
import { parseManifests, parseWithYaml } from './parse.js';
import { cases } from './yaml-cases.test-support.js';

/** What the `yaml` path reads: each document's value and line, and whether it said anything. */
function viaYaml(text: string) {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, logLevel: 'silent' });
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message));
  const documents = docs.map((d) => {
    let value: unknown;
    try {
      value = d.errors.length > 0 ? undefined : d.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push((error as Error).message);
    }
    return { value, line: d.contents?.range ? lineCounter.linePos(d.contents.range[0]).line : undefined };
  });
  return { documents, problems };
}

describe('the fast YAML path agrees with `yaml`, or declines', () => {
  it.each(cases)('%s', (_name, text, takes) => {
    const fast = fastParse(text);
    const reference = viaYaml(text);
    if (takes !== undefined) expect(fast !== undefined).toBe(takes);
    if (fast === undefined) return;
    expect(reference.problems).toEqual([]);
    expect(fast.documents.map((d) => d.value)).toEqual(reference.documents.map((d) => d.value));
    const lines = (docs: ReadonlyArray<{ value: unknown; line: number | undefined }>) =>
      docs.map((d) => (d.value === null || d.value === undefined ? undefined : d.line));
    expect(lines(fast.documents)).toEqual(lines(reference.documents));
  });

  it('gives the line of each item of a List', () => {
    const text = 'kind: List\nitems:\n# one\n- a: 1\n\n-   b: 2\n- {c: 3}\n- [d]\n';
    const fast = fastParse(text)!;
    expect(fast.documents[0]?.itemLines).toEqual([4, 6, 7, 8]);
  });

  it('knows which YAML 1.1 boolean lookalikes were plain', () => {
    const fast = fastParse('a: yes\nb: "yes"\nc: [on, "off", no]\nd: maybe\n')!;
    const root = fast.documents[0]!.value as { c: unknown[] };
    expect(fast.hasPlainCandidates).toBe(true);
    expect([fast.isPlain(root, 'a'), fast.isPlain(root, 'b'), fast.isPlain(root, 'd')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([0, 1, 2].map((i) => fast.isPlain(root.c, i))).toEqual([true, false, true]);
    expect(fastParse('a: "yes"\nb: true\n')!.hasPlainCandidates).toBe(false);
  });

  it.each([
    ['', null],
    ['-', '-'],
    ['.', '.'],
    ['+', '+'],
    ['-.5', -0.5],
    ['0o0', 0],
    ['00', 0],
    ['nan', 'nan'],
    ['Null', null],
    ['f', 'f'],
  ])('resolves the plain scalar %j as %j', (source, value) => {
    expect(resolvePlain(source)).toEqual(value);
  });
});

const ingress = (name: string, extra = '') => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: "dev"
  annotations:
    nginx.ingress.kubernetes.io/ssl-redirect: "false"
spec:
  ingressClassName: gateway
${extra}  rules:
  - host: ${name}.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ${name}, port: {number: 80}}}}
      - path: "/api"
        pathType: Exact
        backend:
          service:
            name: '${name}'
            port:
              name: http
`;
const slice = (ready: string) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: ["10.0.0.1"]
  conditions: {ready: ${ready}, serving: yes, terminating: off}
`;

describe('parseManifests reads the same through either path', () => {
  const files: Array<[string, string]> = [
    ['documents with comments', `# head\n---\n${ingress('a')}---\n# between\n\n${ingress('b')}...\n`],
    [
      'a List with other kinds',
      `apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  apiVersion: v1\n  metadata: {name: c}\n- ${ingress('c').replaceAll('\n', '\n  ').trimEnd()}\n`,
    ],
    [
      'YAML 1.1 booleans, plain and quoted',
      `${slice('yes')}---\n${slice('"true"').replace('web-1', 'web-2')}`,
    ],
    [
      'a Secret with stringData',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\nstringData:\n  k: |\n    multi\n    line\n',
    ],
    [
      'a TLS Secret without its key',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: t}\ntype: kubernetes.io/tls\ndata: {tls.crt: eA==}\n',
    ],
    ['an unknown field', ingress('d', '  tls:\n  - host: [x]\n')],
    ['a duplicate key', `${ingress('e')}kind: Ingress\n`],
    ['an anchor', `${ingress('f').replace('name: f\n', 'name: &n f\n')}`],
    [
      'JSON',
      '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}, "spec": {"ports": [{"port": 80}]}}',
    ],
  ];
  it.each(files)('%s', (_name, text) => {
    expect(parseManifests(text, 'f.yaml', 3)).toEqual(parseWithYaml(text, 'f.yaml', 3));
  });
  it('through the fast path where nothing is wrong', () => {
    const taken = files.filter(([, text]) => fastParse(text) !== undefined).map(([name]) => name);
    expect(taken).toEqual(
      files.map(([name]) => name).filter((n) => n !== 'a duplicate key' && n !== 'an anchor'),
    );
  });
});
