// Shared by the tests that talk to the API-server fixture: a client per user, a logger that keeps its
// lines, and a bound on every wait so a broken test fails instead of hanging.
import type { ApiServerFixture } from '@gateway/api-server-fixture';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from './api-client.js';
import type { Logger } from './log.js';

export function clientFor(api: ApiServerFixture, token: string): ApiClient {
  const kc = new KubeConfig();
  kc.loadFromOptions(api.kubeConfigObject({ token }));
  return new ApiClient(kc);
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The RBAC rules the deploy manifests grant for these calls, as `verb group resource[/subresource]`. */
const GRANTED = new Set([
  'get coordination.k8s.io leases',
  'create coordination.k8s.io leases',
  'update coordination.k8s.io leases',
  'update networking.k8s.io ingresses/status',
  'get  services',
  'list  pods',
  'get  nodes',
]);

/** Every call the code made is one the manifests grant (denials injected by a test included). */
export function ungrantedCalls(api: ApiServerFixture): string[] {
  return api.requests
    .map(
      (r) => `${r.verb} ${r.group ?? ''} ${r.resource ?? r.path}${r.subresource ? `/${r.subresource}` : ''}`,
    )
    .filter((call) => !GRANTED.has(call));
}
