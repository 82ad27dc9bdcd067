import type { KubeObject, ResourceType } from './resources.js';

export type Matcher = (obj: KubeObject) => boolean;

export class SelectorError extends Error {}

/** Splits on commas outside parentheses, so `k in (a,b),x=y` is two requirements. */
function requirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((r) => r.trim()).filter((r) => r !== '');
}

function labelRequirement(req: string): (labels: Record<string, string>) => boolean {
  let m = /^(\S+?)\s+(in|notin)\s+\((.*)\)$/.exec(req);
  if (m) {
    const [, key, op, list] = m as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => key in l && values.has(l[key]!) : (l) => !(key in l) || !values.has(l[key]!);
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(req);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    // As in the real server, `k!=v` also matches objects without the label.
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = /^(!?)([^=!\s()]+)$/.exec(req);
  if (m) {
    const [, not, key] = m as unknown as [string, string, string];
    return not ? (l) => !(key in l) : (l) => key in l;
  }
  throw new SelectorError(`unable to parse requirement: ${req}`);
}

export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = requirements(selector).map(labelRequirement);
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return reqs.every((r) => r(labels));
  };
}

export function fieldMatcher(selector: string | undefined, type: ResourceType): Matcher {
  if (!selector) return () => true;
  const reqs = requirements(selector).map((req) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(req);
    if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${req}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = fieldGetter(field, type);
    if (!get) throw new SelectorError(`field label not supported: ${field}`);
    return op === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}

function fieldGetter(field: string, type: ResourceType): ((o: KubeObject) => string | undefined) | undefined {
  if (field === 'metadata.name') return (o) => o.metadata?.name;
  if (field === 'metadata.namespace' && type.namespaced) return (o) => o.metadata?.namespace;
  return type.extraFields?.[field];
}
