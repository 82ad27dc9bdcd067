import { describe, expect, it } from 'vitest';
import { didYouMean } from './did-you-mean.js';
import { formatDiagnostic } from './format.js';
import type { Diagnostic } from './types.js';

describe('formatDiagnostic', () => {
  it.each<[Diagnostic, string]>([
    [
      {
        severity: 'error',
        file: 'config/app.yaml',
        line: 12,
        kind: 'Ingress',
        namespace: 'dev',
        name: 'ingress-http',
        field: 'spec.tls[0].host',
        message: 'unknown field "host" (did you mean "hosts"?)',
      },
      'config/app.yaml:12: Ingress dev/ingress-http: spec.tls[0].host: unknown field "host" (did you mean "hosts"?)',
    ],
    [{ severity: 'error', file: 'a.yaml', message: 'YAML: bad' }, 'a.yaml: YAML: bad'],
    [{ severity: 'error', kind: 'Service', namespace: 'ns', name: 's', message: 'm' }, 'Service ns/s: m'],
    [{ severity: 'warning', file: 'a.yaml', line: 3, message: 'odd' }, 'a.yaml:3: warning: odd'],
  ])('%#', (d, expected) => expect(formatDiagnostic(d)).toBe(expected));
});

describe('didYouMean', () => {
  it.each<[string, string[], string | undefined]>([
    ['host', ['hosts', 'secretName'], 'hosts'],
    ['secret', ['hosts', 'secretName'], 'secretName'],
    ['sepc', ['apiVersion', 'kind', 'metadata', 'spec', 'status'], 'spec'],
    ['PathType', ['path', 'pathType', 'backend'], 'pathType'],
    ['servicePort', ['resource', 'service'], 'service'],
    ['zzz', ['hosts', 'secretName'], undefined],
  ])('%s', (name, allowed, expected) => expect(didYouMean(name, allowed)).toBe(expected));
});
