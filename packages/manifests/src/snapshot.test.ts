import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './format.js';
import { parseManifests } from './parse.js';
import { buildSnapshot, emptySnapshot } from './snapshot.js';
import type { SourcedObject } from './types.js';

const objects = (text: string, file = 'a.yaml', firstOrder = 0): SourcedObject[] => {
  const result = parseManifests(text, file, firstOrder);
  expect(result.diagnostics).toEqual([]);
  return result.objects;
};

const all = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i}
spec: {defaultBackend: {service: {name: s, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: c}
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1}
addressType: IPv4
endpoints: []
---
apiVersion: v1
kind: Endpoints
metadata: {name: s}
---
apiVersion: v1
kind: Secret
metadata: {name: t}
`;

describe('buildSnapshot', () => {
  it('groups objects by kind, in order', () => {
    const { snapshot, diagnostics } = buildSnapshot(objects(all));
    expect(diagnostics).toEqual([]);
    const names = Object.fromEntries(
      Object.entries(snapshot).map(([key, list]) => [
        key,
        list.map((o: SourcedObject) => o.object.metadata.name),
      ]),
    );
    expect(names).toEqual({
      ingresses: ['i'],
      ingressClasses: ['c'],
      services: ['s'],
      endpointSlices: ['s-1'],
      endpoints: ['s'],
      secrets: ['t'],
    });
    expect(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.services)).toBe(true);
  });

  it('reports a duplicate with both places and keeps the first', () => {
    const first = objects('apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: dev}\n', 'a.yaml');
    const second = objects(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: prod}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: dev}\nspec: {type: NodePort}\n',
      'b.yaml',
      first.length,
    );
    const { snapshot, diagnostics } = buildSnapshot([...first, ...second]);
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'b.yaml:5: Service dev/s: duplicate Service dev/s: first defined at a.yaml:1',
    ]);
    expect(snapshot.services.map((o) => [o.object.metadata.namespace, o.source.file])).toEqual([
      ['dev', 'a.yaml'],
      ['prod', 'b.yaml'],
    ]);
  });

  it('treats the same name in another kind, or a cluster-scoped IngressClass, by its own key', () => {
    const text = `${all}---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: c, namespace: other}\n`;
    const { diagnostics } = buildSnapshot(objects(text));
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'a.yaml:28: IngressClass c: duplicate IngressClass c: first defined at a.yaml:6',
    ]);
  });

  it('has an empty snapshot', () => {
    expect(buildSnapshot([]).snapshot).toEqual(emptySnapshot);
    expect(Object.isFrozen(emptySnapshot.ingresses)).toBe(true);
  });
});
