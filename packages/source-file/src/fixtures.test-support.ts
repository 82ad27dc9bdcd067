import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Service `dev/NAME`, as one YAML document. */
export function service(name: string, port = 80): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: dev
spec:
  ports:
    - name: http
      port: ${port}
`;
}

/** An Ingress `dev/NAME` sending HOST to Service `dev/SERVICE`. */
export function ingress(name: string, host: string, serviceName: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: dev
spec:
  rules:
    - host: ${host}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${serviceName}
                port:
                  name: http
`;
}

export const INVALID_YAML = 'kind: [\n  foo: : bar\n';

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'source-file-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Collects what a callback receives; `next()` resolves with the next value, or fails after a deadline. */
export class Inbox<T> {
  readonly received: T[] = [];
  private waiter: ((value: T) => void) | undefined;
  private read = 0;

  readonly push = (value: T): void => {
    this.received.push(value);
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter(this.received[this.read++] as T);
    }
  };

  next(timeoutMs = 3000): Promise<T> {
    if (this.read < this.received.length) return Promise.resolve(this.received[this.read++] as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`nothing received within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
    });
  }
}
