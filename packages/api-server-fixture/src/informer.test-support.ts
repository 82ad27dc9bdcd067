import { KubeConfig } from '@kubernetes/client-node';
import type { ApiServerFixture } from './index.js';

export interface Entry {
  verb: 'add' | 'update' | 'delete' | 'error' | 'connect';
  name: string | undefined;
  obj:
    | { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> } }
    | undefined;
  err: (Error & { code?: number; statusCode?: number; body?: unknown; cause?: unknown }) | undefined;
}

interface InformerLike {
  // biome-ignore lint/suspicious/noExplicitAny: the informer's overloads take object or error callbacks
  on(verb: any, cb: (arg: any) => void): void;
}

/** Records an informer's callbacks; waitFor resolves on the first matching one, without sleeping. */
export class InformerLog {
  readonly entries: Entry[] = [];
  private waiters: { pred: (e: Entry) => boolean; resolve: (e: Entry) => void }[] = [];

  constructor(informer: InformerLike) {
    for (const verb of ['add', 'update', 'delete', 'error', 'connect'] as const) {
      informer.on(verb, ((arg: unknown) => {
        const isErr = verb === 'error';
        const obj = isErr ? undefined : (arg as Entry['obj']);
        this.push({ verb, name: obj?.metadata?.name, obj, err: isErr ? (arg as Entry['err']) : undefined });
      }) as never);
    }
  }

  private push(e: Entry): void {
    this.entries.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(e)) return true;
      w.resolve(e);
      return false;
    });
  }

  /** Index to pass as `from` so only later callbacks count. */
  mark(): number {
    return this.entries.length;
  }

  waitFor(
    verb: Entry['verb'],
    name?: string,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<Entry> {
    const pred = (e: Entry) => e.verb === verb && (name === undefined || e.name === name);
    const found = this.entries.slice(options.from ?? 0).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no ${verb} ${name ?? ''} within ${options.timeoutMs ?? 5000} ms; saw ${this.summary()}`,
            ),
          ),
        options.timeoutMs ?? 5000,
      );
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  summary(): string {
    return this.entries
      .map((e) => `${e.verb}${e.name ? ` ${e.name}` : ''}${e.err ? ` ${e.err.message}` : ''}`)
      .join(', ');
  }
}

export function kubeConfigFor(api: ApiServerFixture, namespace = 'default'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions(api.kubeConfigObject({ namespace }));
  return kc;
}

export const svc = (name: string, labels?: Record<string, string>, namespace = 'default') => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec: { ports: [{ port: 80 }] },
});
