import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { fastParse, resolvePlain } from './fast-yaml.js';
import { parseManifests, parseWithYaml } from './parse.js';

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

// Each case: the fast path either declines it (`yaml` then reads it) or reads exactly what `yaml` reads.
// `fast: false` marks the cases it must decline; `fast: true` the ones it must take.
const cases: Array<[string, string, boolean?]> = [
  // numbers (YAML 1.2 core schema: no 0b, no underscores, no sexagesimal, 017 is decimal)
  ['octal 0o', 'a: 0o17', true],
  ['leading zero is decimal', 'a: 017', true],
  ['hex', 'a: 0x1F', true],
  ['hex upper X is a string', 'a: 0X1F', true],
  ['exponent', 'a: 1e3\nb: 1E3\nc: 1.5e-3\nd: -2e+2', true],
  ['floats', 'a: .5\nb: 1.\nc: -1.25\nd: +3.0\ne: 1.0', true],
  ['infinities and NaN', 'a: .inf\nb: -.Inf\nc: +.INF\nd: .nan\ne: .NaN\nf: .NAN\ng: .Nan', true],
  ['signed ints and zero', 'a: +12\nb: -0\nc: -12\nd: 0', true],
  ['not numbers', 'a: 1_000\nb: 0b101\nc: 12:30\nd: 1e\ne: 0o8\nf: 0x\ng: 1.2.3\nh: 08.5', true],
  ['big ints', 'a: 9007199254740993\nb: 123456789012345678901234567890', true],
  ['port numbers as strings', 'a: "8080"\nb: \'80\'', true],
  // booleans and nulls
  ['core booleans', 'a: true\nb: True\nc: TRUE\nd: false\ne: False\nf: FALSE\ng: tRue', true],
  ['YAML 1.1 booleans stay strings', 'a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: Yes\nh: OFF', true],
  ['nulls', 'a: ~\nb: null\nc: Null\nd: NULL\ne: nUll\nf:\ng: ""', true],
  // strings
  ['quoted', `a: 'yes'\nb: "no"\nc: 'it''s'\nd: "a\\tb\\n"\ne: "\\u00e9\\x41\\U0001F600"`, true],
  ['escapes', 'a: "\\0\\a\\b\\e\\f\\r\\v\\/\\ \\N\\_\\L\\P"', true],
  ['multi-line plain', 'a: one\n  two\n\n  three\nb: x', true],
  ['multi-line quoted', 'a: "one\n  two\\\n  three"\nb: \'x\n\n  y\'', true],
  ['literal block', 'a: |\n  line 1\n   line 2\n\n  line 3\n\nb: x', true],
  ['block chomping', 'a: |-\n  x\n\nb: |+\n  y\n\nc: >\n  p\n  q\n\n  r\n   more\n  s\nd: >-\n  z\n', true],
  ['block indentation indicator', 'a: |2\n   two leading\n  one\nb: >1\n  x\n', true],
  ['block at the end', 'a: |+\n  kept\n\n\n', true],
  ['colons and hashes in plain scalars', 'a: b:c\nb: x#y\nc: x # a comment\nd: http://x/y?z=1#f', true],
  ['plain with inner quotes', 'a: it\'s "fine"\nb: -x\nc: ?y\nd: :z', true],
  ['unicode', 'a: é\nb: 😀 emoji\n"ключ": значение', true],
  ['tab after colon', 'a:\tb\nc: d\t# c', true],
  ['empty string values', 'a: ""\nb: \'\'', true],
  ['trailing spaces', 'a:    value   \nb  : 1\nc: "q"   \nd: one   \n   two  ', true],
  ['comment lines inside a mapping', 'a:\n  # c\n  b: 1\n# d\n  c: 2', true],
  ['comment right after a quote', 'a: "x"#c', false],
  ['text after a quote', "a: 'x' y", false],
  ['sequence not indented under its key', 'a:\n- 1\n- 2\nb: 3', true],
  ['empty items', '- \n-\n- ~', true],
  ['content after ...', 'a: 1\n...\nb: 2', true],
  ['document markers inside a block scalar', 'a: |\n  ---\n  ...\nb: 2', true],
  ['quoted multi-line with blank lines', 'a: "x\n\n\n  y  \n  z"', true],
  // keys
  ['quoted keys', '"a b": 1\n\'c:d\': 2\n"": 3', true],
  ['keys named like Object methods', 'constructor: 1\ntoString: 2\nhasOwnProperty: 3', true],
  ['explicit key', '? a\n: 1', true],
  ['plain non-string keys', '1: a\ntrue: b', false],
  ['null key', '~: a', false],
  ['duplicate key', 'a: 1\na: 2', false],
  ['__proto__ key', '__proto__: {a: 1}', false],
  ['collection key', '? [a, b]\n: 1', false],
  ['long key', `${'k'.repeat(1100)}: 1`, false],
  // collections
  ['flow', 'a: {b: 1, c: [x, "y", 3]}\nd: []\ne: {}\nf: [a, ]\ng: {h: }', true],
  ['flow on lines', 'a: [\n    1,\n    2\n  ]\nb: {\n    c: d\n  }', true],
  ['nested sequences', '- - a\n  - b\n- -\n- c: 1\n  d: 2\n-', true],
  ['compact nested mapping', 'a:\n- b: 1\n  c:\n  - d\n- e', true],
  ['JSON', '{"apiVersion": "v1", "kind": "Service", "n": [1, 2.5, true, null, {"x": "y"}]}', true],
  ['pretty JSON', '{\n  "a": [\n    1\n  ],\n  "b": {\n    "c": 2\n  }\n}\n', true],
  // documents
  ['several documents', '---\na: 1\n---\nb: 2\n...\n---\nc: 3\n', true],
  ['empty documents', '---\n---\n# only a comment\n---\n...\n', true],
  ['comments before content', '# head\n\n# more\napiVersion: v1\nkind: x\n', true],
  ['document start with content', '--- a\n--- {b: 1}\n--- # c\nd: 2', true],
  ['scalar document', 'just a string\n---\n42', true],
  ['empty text', '', true],
  ['only comments', '# nothing\n# here\n', true],
  ['byte order mark', '\uFEFFa: 1', true],
  ['CRLF', 'a: 1\r\nb: |\r\n  x\r\n  y\r\nc: "q\r\n  r"\r\n---\r\nd: 2\r\n', true],
  ['lone CR', 'a: 1\rb: 2', false],
  // what only `yaml` reads
  ['anchor and alias', 'a: &x 1\nb: *x', false],
  ['merge key', 'base: &b {x: 1}\nm:\n  <<: *b\n  y: 2', false],
  ['tags', 'a: !!str 1\nb: !!int "2"', false],
  ['custom tag', 'a: !foo x', false],
  ['YAML 1.1 directive', '%YAML 1.1\n---\na: yes', false],
  ['TAG directive', '%TAG !e! tag:example.com,2000:\n---\na: !e!x 1', false],
  // errors (the `yaml` path reports them)
  ['bad indentation', 'a:\n  b: 1\n c: 2', false],
  ['unterminated quote', 'a: "x', false],
  ['mapping in a plain value', 'a: b: c', false],
  ['sequence after a mapping', 'a: 1\n- b', false],
  ['tab indentation', 'a:\n\tb: 1', false],
  ['flow end at the parent indent', 'a: [\n  1\n]\n'],
  ['unclosed flow', 'a: [1, 2', false],
  ['alias to nothing', 'a: *nope', false],
];

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
