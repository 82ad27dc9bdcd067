import { buildSnapshot, parseManifests } from '@gateway/manifests';
import { defaultTranslateOptions } from '@gateway/translate';
import { describe, expect, it } from 'vitest';
import { compileSnapshot, describe as describeDiagnostics } from './reconciler.js';

function load(text: string) {
  const parsed = parseManifests(text, 'test.yaml');
  const { snapshot, diagnostics } = buildSnapshot(parsed.objects);
  return { snapshot, diagnostics: [...parsed.diagnostics, ...diagnostics] };
}

const INGRESS = (path: string, pathType: string) => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: app}
spec:
  rules:
    - host: a.example.test
      http:
        paths:
          - {path: ${path}, pathType: ${pathType}, backend: {service: {name: web, port: {number: 80}}}}
`;

describe('compileSnapshot', () => {
  it('accepts a valid snapshot, with warnings (a missing Service is a 503, not an error)', () => {
    const outcome = compileSnapshot(load(INGRESS('/', 'Prefix')), defaultTranslateOptions());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.config.routes.match('a.example.test', '/x')?.ingress).toBe('web');
    expect(outcome.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
  });

  it('rejects a snapshot whose manifests have errors, naming file, object and field', () => {
    const outcome = compileSnapshot(load(INGRESS('/', 'Sometimes')), defaultTranslateOptions());
    expect(outcome.ok).toBe(false);
    expect(describeDiagnostics(outcome.diagnostics).join('\n')).toMatch(
      /^test\.yaml:\d+: Ingress app\/web: spec\.rules\[0\]\.http\.paths\[0\]\.pathType: /m,
    );
  });

  it('rejects a snapshot that translate finds an error in', () => {
    const outcome = compileSnapshot(load(INGRESS('relative', 'Prefix')), defaultTranslateOptions());
    expect(outcome.ok).toBe(false);
    expect(outcome.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  });
});
