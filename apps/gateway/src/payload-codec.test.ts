// The whole configuration a worker receives is the one the primary made: every rule, route, backend,
// endpoint and binding equal, and what the primary shared still shared (a route's Backend is the one in
// `backends`; a host default's route the rule's), through the bytes that cross.
import { buildSnapshot, parseManifests } from '@gateway/manifests';
import { defaultTranslateOptions, translate } from '@gateway/translate';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, toPayload } from './worker-protocol.js';

const text = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {ports: [{name: http, port: 80}], sessionAffinity: ClientIP}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: app}
spec: {type: ExternalName, externalName: backend.example.test, ports: [{port: 443, targetPort: 8443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: app, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: ["127.0.3.1"]}, {addresses: ["127.0.3.2"]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: app}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
  tls: [{hosts: [a.test]}]
  rules:
    - host: a.test
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /ext, pathType: Exact, backend: {service: {name: ext, port: {number: 443}}}}
          - {path: /gone, pathType: ImplementationSpecific, backend: {service: {name: gone, port: {number: 80}}}}
    - host: "*.b.test"
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: all, namespace: app}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
`;

describe('a whole configuration as the workers receive it', () => {
  it('is the one the primary made, with what it shared still shared', () => {
    const { snapshot } = buildSnapshot(parseManifests(text, 'test.yaml').objects);
    const payload = toPayload(translate(snapshot, defaultTranslateOptions()).config);
    expect(payload.rules.hostDefaults?.length).toBeGreaterThan(0);
    expect(payload.rules.catchAll).toBeDefined();
    const received = decodePayload(encodePayload(payload));
    expect(received).toEqual(payload);
    expect([...received.backends]).toEqual([...payload.backends]);
    expect([...received.endpoints]).toEqual([...payload.endpoints]);
    const web = received.backends.get('app/web:80')!;
    expect(web.affinity).toEqual({ timeoutSeconds: 10_800 });
    expect(received.backends.get('app/ext:443')).toMatchObject({ external: true, portName: undefined });
    for (const rule of received.rules.rules) {
      const backend = rule.target.backend;
      if (backend !== undefined) expect(backend).toBe(received.backends.get(backend.key));
    }
    expect(received.rules.catchAll!.backend).toBe(web);
    expect(received.rules.rules.find((r) => r.path === '/gone')!.target.backend).toBeUndefined();
  });
});
