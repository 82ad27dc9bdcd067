import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments, stringify } from 'yaml';
import { blockParse } from './block-yaml.js';
import { cases } from './yaml-cases.test-support.js';

/** Non-empty documents as `yaml` reads them, with their lines; undefined when it reports anything. */
function viaYaml(text: string) {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, logLevel: 'silent' });
  if (docs.some((d) => d.errors.length > 0 || d.warnings.length > 0)) return undefined;
  return docs
    .map((d) => ({
      value: d.toJS() as unknown,
      line: d.contents?.range ? lineCounter.linePos(d.contents.range[0]).line : undefined,
    }))
    .filter((d) => d.value !== null && d.value !== undefined);
}

function expectAgreement(text: string): boolean {
  const block = blockParse(text);
  if (block === undefined) return false;
  const reference = viaYaml(text);
  expect(reference, 'yaml reports a problem the block path did not see').toBeDefined();
  const documents = block.documents.filter((d) => d.value !== null && d.value !== undefined);
  expect(documents.map((d) => d.value)).toEqual(reference!.map((d) => d.value));
  expect(documents.map((d) => d.line)).toEqual(reference!.map((d) => d.line));
  return true;
}

describe('the block YAML path agrees with `yaml`, or declines', () => {
  it.each(cases)('%s', (_name, text) => {
    expectAgreement(text);
  });

  const taken: Array<[string, string]> = [
    [
      'a manifest',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: "a"\n  labels: {}\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n  selector: []\n',
    ],
    [
      'nested and indentless sequences',
      'a:\n  - x\n  - y: 1\n    z:\n    - 2\n    -\n      w: 3\n    - \nb:\n- c\nd: e\n',
    ],
    [
      'comments everywhere',
      '# c\na: 1 # one\n  # indented comment\nb:   # nothing\n# c\nc: "x" # q\nd: [] # e\n',
    ],
    ['quotes', `a: 'it''s'\nb: "say 'hi'"\nc: 'x # y'\nd: "a: b"\n'e f': g\n"h": 'i'\n`],
    [
      'plain scalars',
      'a: http://x/y?z=1#f\nb: x#y\nc: -1\nd: -x\ne: x]y\nf: a b  c  \ng: yes\nh: 0o17\ni: .5\nj: ~\n',
    ],
    ['several documents', '---\na: 1\n---\n# nothing\n---\n- b\n...\n---\nc: [] \n'],
    ['a root mapping at an indent', '  a: 1\n  b:\n    c: 2\n'],
    ['null values', 'a:\nb:\n  c:\nd: 1\ne:\n- \n-\n'],
  ];
  it.each(taken)('takes %s', (_name, text) => {
    expect(expectAgreement(text)).toBe(true);
  });

  const declined: Array<[string, string]> = [
    ['a block scalar', 'a: |\n  x\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['an escape', 'a: "x\\ty"\n'],
    ['a flow collection with content', 'a: [1, 2]\n'],
    ['a tab', 'a:\tb\n'],
    ['CRLF', 'a: 1\r\n'],
    ['an anchor', 'a: &x 1\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a merge key', '<<: {}\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a numeric key', '80: http\n'],
    ['a nested compact sequence', '- - a\n'],
    ['a scalar document', 'hello\n'],
    ['content on the marker line', '--- a: 1\n'],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a sequence after a mapping', 'a: 1\n- b\n'],
    ['a colon in a plain value', 'a: b: c\n'],
    ['a comment right after a quote', 'a: "x"#c\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['an explicit key', '? a\n: 1\n'],
  ];
  it.each(declined)('declines %s', (_name, text) => {
    expect(blockParse(text)).toBeUndefined();
  });

  it('gives the line of each item of a List', () => {
    const text = 'kind: List\nitems:\n# one\n- a: 1\n\n-   b: 2\n-\n  c: 3\n';
    expect(blockParse(text)!.documents[0]?.itemLines).toEqual([4, 6, 8]);
  });

  // Values of random shapes, written by `yaml` itself in block style: the block path reads each
  // exactly as `yaml` does, or declines.
  it('reads what `yaml` writes, for random values', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const words = [
      'a',
      'yes',
      'No',
      'on',
      '0o17',
      '017',
      '1e3',
      '-1',
      '.5',
      'null',
      '~',
      'x y',
      'a: b',
      'a #b',
      '#c',
      '- d',
      "it's",
      '"q"',
      'true',
      '',
      ' lead',
      'trail ',
      '[x]',
      '{y}',
      'é😀',
      '12:30',
      '0x1F',
      '-',
      ':',
      '?',
      'k8s.io/v1',
    ];
    const scalar = (): unknown => {
      const r = rand(6);
      if (r === 0) return rand(1000) - 500;
      if (r === 1) return rand(2) === 0;
      if (r === 2) return null;
      if (r === 3) return rand(100) / 8;
      return words[rand(words.length)];
    };
    const value = (depth: number): unknown => {
      const r = rand(depth > 3 ? 1 : 4);
      if (r === 0) return scalar();
      if (r === 1) return Array.from({ length: rand(4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = rand(4); i > 0; i--) o[String(words[rand(words.length)])] = value(depth + 1);
      return o;
    };
    let agreed = 0;
    for (let i = 0; i < 400; i++) {
      const v = { root: value(0), other: value(1) };
      for (const options of [{}, { indentSeq: false }, { defaultStringType: 'QUOTE_DOUBLE' as const }]) {
        const text = stringify(v, { ...options, lineWidth: 0 });
        if (expectAgreement(text)) agreed++;
      }
    }
    expect(agreed).toBeGreaterThan(300);
  });
});
