import type { KubeObject } from './resources.js';

/** Continue tokens carry the list's resourceVersion, so compaction can expire them as etcd does. */
interface ContinueToken {
  rv: number;
  after: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue(value: string): ContinueToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(value, 'base64url').toString()) as ContinueToken;
    return typeof t.rv === 'number' && typeof t.after === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** List items come without apiVersion/kind, as the real server sends typed lists. */
export function listItem(obj: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}
