import type { KubeObject } from '@gateway/manifests';
import { describe, expect, it } from 'vitest';
import { ingress, ingressClass, simpleIngress, snapshot } from './builders.test-support.js';
import { selectIngresses } from './class-filter.js';
import { DEFAULT_CONTROLLER_NAME, defaultTranslateOptions } from './options.js';

const byField = (name: string, cls: string) => ingress(name, { ingressClassName: cls });
const byAnnotation = (name: string, cls: string) =>
  ingress(name, {}, { annotations: { 'kubernetes.io/ingress.class': cls } });
const classless = (name: string) => simpleIngress(name, 'a.test', '/', 'web');
const ours = (name: string, isDefault = false) => ingressClass(name, DEFAULT_CONTROLLER_NAME, isDefault);
const theirs = (name: string, isDefault = false) => ingressClass(name, 'k8s.io/ingress-nginx', isDefault);

const cases: Array<{ name: string; option?: string; objects: KubeObject[]; served: string[] }> = [
  {
    name: '--ingress-class: spec.ingressClassName or, without it, the legacy annotation',
    option: 'gw',
    objects: [
      byField('field', 'gw'),
      byAnnotation('annotation', 'gw'),
      byField('other', 'nginx'),
      classless('none'),
    ],
    served: ['field', 'annotation'],
  },
  {
    name: '--ingress-class: spec.ingressClassName wins over the annotation',
    option: 'gw',
    objects: [
      ingress(
        'both',
        { ingressClassName: 'nginx' },
        { annotations: { 'kubernetes.io/ingress.class': 'gw' } },
      ),
    ],
    served: [],
  },
  {
    name: 'no option, no IngressClass objects (a standalone file): every Ingress',
    objects: [byField('field', 'anything'), byAnnotation('annotation', 'x'), classless('none')],
    served: ['field', 'annotation', 'none'],
  },
  {
    name: 'no option: classes whose controller is ours; classless ones ignored without a default class',
    objects: [ours('gw'), theirs('nginx', true), byField('a', 'gw'), byField('b', 'nginx'), classless('c')],
    served: ['a'],
  },
  {
    name: 'no option: our default class takes classless Ingresses',
    objects: [ours('gw', true), byField('a', 'gw'), classless('c'), byField('unknown', 'nope')],
    served: ['a', 'c'],
  },
  {
    name: 'no option: the legacy annotation names an IngressClass too',
    objects: [ours('gw'), byAnnotation('a', 'gw'), byAnnotation('b', 'nginx')],
    served: ['a'],
  },
  {
    name: 'no option: IngressClasses of other controllers only → nothing is ours',
    objects: [theirs('nginx', true), byField('a', 'nginx'), classless('c')],
    served: [],
  },
];

describe('class filter', () => {
  it.each(cases)('$name', ({ option, objects, served }) => {
    const result = selectIngresses(snapshot(...objects), defaultTranslateOptions({ ingressClass: option }));
    expect(result.served.map((i) => i.object.metadata.name)).toEqual(served);
    expect(result.served.length + result.ignored.length).toBe(
      objects.filter((o) => o.kind === 'Ingress').length,
    );
  });

  it('--controller-name picks which IngressClasses are ours', () => {
    const snap = snapshot(theirs('nginx'), ours('gw'), byField('a', 'nginx'), byField('b', 'gw'));
    const result = selectIngresses(snap, defaultTranslateOptions({ controllerName: 'k8s.io/ingress-nginx' }));
    expect(result.served.map((i) => i.object.metadata.name)).toEqual(['a']);
  });
});

describe('class filter reasons (for --check)', () => {
  const table: Array<{ option?: string; objects: KubeObject[]; reasons: string[] }> = [
    {
      option: 'gw',
      objects: [byField('other', 'nginx'), classless('none')],
      reasons: [
        'other: class "nginx" is not --ingress-class "gw"',
        'none: no class, and --ingress-class is "gw"',
      ],
    },
    {
      objects: [
        ours('gw'),
        theirs('nginx'),
        byField('b', 'nginx'),
        classless('c'),
        byAnnotation('d', 'gone'),
      ],
      reasons: [
        `b: class "nginx" is not ours (its controller is k8s.io/ingress-nginx; ours is ${DEFAULT_CONTROLLER_NAME})`,
        `c: no class and no default IngressClass of ours (controller ${DEFAULT_CONTROLLER_NAME})`,
        'd: class "gone" names no IngressClass',
      ],
    },
  ];
  it.each(table)('$reasons', ({ option, objects, reasons }) => {
    const result = selectIngresses(snapshot(...objects), defaultTranslateOptions({ ingressClass: option }));
    expect(result.ignored.map((i) => `${i.ingress.object.metadata.name}: ${i.reason}`)).toEqual(reasons);
  });
});
