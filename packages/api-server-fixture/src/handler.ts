import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { decodeContinue, encodeContinue, listItem } from './list.js';
import { jsonPatch, mergePatch, PatchError } from './patch.js';
import { groupVersion, type KubeObject, qualifiedName, type ResourceType } from './resources.js';
import { HttpError, sendJson } from './respond.js';
import type { ResourceRoute, Verb } from './routes.js';
import { fieldMatcher, labelMatcher, type Matcher, SelectorError } from './selectors.js';
import { expiredStatus } from './status.js';
import { type Store, StoreError } from './store.js';
import { openStream, present, WatchStream, writeEvent } from './watch-stream.js';

export interface HandlerContext {
  store: Store;
  bookmarkIntervalMs: number;
  /** How a watch from a compacted resourceVersion is refused: an ERROR event (as kube-apiserver does) or HTTP 410. */
  expiredWatch: 'event' | 'http';
  watches: Set<WatchStream>;
}

export interface ResourceRequest {
  route: ResourceRoute;
  verb: Verb;
  type: ResourceType;
  query: URLSearchParams;
  body: string;
  contentType: string;
}

export function handleResource(ctx: HandlerContext, req: ResourceRequest, res: ServerResponse): void {
  try {
    dispatch(ctx, req, res);
  } catch (err) {
    if (err instanceof StoreError) {
      throw new HttpError(err.code, err.message, err.reason, details(req));
    }
    if (err instanceof SelectorError || err instanceof PatchError) throw new HttpError(400, err.message);
    throw err;
  }
}

function details(req: ResourceRequest): object {
  return {
    ...(req.route.name ? { name: req.route.name } : {}),
    group: req.type.group,
    kind: req.type.resource,
  };
}

function dispatch(ctx: HandlerContext, req: ResourceRequest, res: ServerResponse): void {
  const { route, type } = req;
  const apiVersion = groupVersion(type.group, route.version);
  const ns = type.namespaced ? route.namespace : undefined;
  if (route.subresource !== undefined && !(route.subresource === 'status' && type.hasStatus)) {
    throw new HttpError(404, 'the server could not find the requested resource', 'NotFound');
  }
  const out = (code: number, obj: KubeObject) => sendJson(res, code, present(obj, type, apiVersion));
  switch (req.verb) {
    case 'list':
      sendJson(res, 200, list(ctx, req, apiVersion, ns));
      return;
    case 'watch':
      watch(ctx, req, res, apiVersion, ns);
      return;
    case 'get': {
      const obj = ctx.store.get(type, ns, route.name!);
      if (!obj) throw new StoreError(404, 'NotFound', `${qualifiedName(type)} "${route.name}" not found`);
      out(200, obj);
      return;
    }
    case 'create':
      out(201, create(ctx, req, ns));
      return;
    case 'update':
      out(200, update(ctx, req, ns));
      return;
    case 'patch':
      out(200, patch(ctx, req, ns));
      return;
    case 'delete':
      out(200, ctx.store.delete(type, ns, route.name!));
      return;
    case 'deletecollection': {
      const matches = selectors(req);
      const items = ctx.store.list(type, ns).filter(matches);
      const deleted = items.map((o) =>
        listItem(ctx.store.delete(type, o.metadata?.namespace, o.metadata?.name ?? '')),
      );
      sendJson(res, 200, listBody(type, apiVersion, String(ctx.store.resourceVersion), deleted));
      return;
    }
  }
}

function selectors(req: ResourceRequest): Matcher {
  const labels = labelMatcher(req.query.get('labelSelector') ?? undefined);
  let field = req.query.get('fieldSelector') ?? undefined;
  // A watch on a named object (`.../leases/x?watch=true`) is a watch with a name field selector.
  if (req.route.name !== undefined)
    field = [field, `metadata.name=${req.route.name}`].filter(Boolean).join(',');
  const fields = fieldMatcher(field, req.type);
  return (o) => labels(o) && fields(o);
}

function listBody(type: ResourceType, apiVersion: string, rv: string, items: KubeObject[], cont?: string) {
  return {
    kind: `${type.kind}List`,
    apiVersion,
    metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) },
    items,
  };
}

function list(ctx: HandlerContext, req: ResourceRequest, apiVersion: string, ns: string | undefined) {
  const matches = selectors(req);
  const limit = Number(req.query.get('limit') ?? 0);
  const cont = req.query.get('continue');
  let rv = ctx.store.resourceVersion;
  let entries: [string, KubeObject][];
  let after = '';
  if (cont) {
    const token = decodeContinue(cont);
    if (!token) throw new HttpError(400, 'continue key is not valid: illegal base64 data', 'BadRequest');
    const snapshot = ctx.store.listAt(req.type, token.rv);
    if (!snapshot) {
      throw new HttpError(
        410,
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        'Expired',
      );
    }
    rv = token.rv;
    after = token.after;
    entries = snapshot;
  } else {
    entries = ctx.store.listAt(req.type, rv)!;
  }
  const items: KubeObject[] = [];
  let next: string | undefined;
  for (const [key, obj] of entries) {
    if (key <= after && after !== '') continue;
    if (ns !== undefined && obj.metadata?.namespace !== ns) continue;
    if (!matches(obj)) continue;
    if (limit > 0 && items.length === limit) {
      next = encodeContinue({ rv, after: lastKey(items) });
      break;
    }
    items.push(listItem(obj));
  }
  return listBody(req.type, apiVersion, String(rv), items, next);
}

function lastKey(items: KubeObject[]): string {
  const m = items[items.length - 1]!.metadata;
  return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
}

function watch(
  ctx: HandlerContext,
  req: ResourceRequest,
  res: ServerResponse,
  apiVersion: string,
  ns: string | undefined,
) {
  const matches = selectors(req);
  const rvParam = req.query.get('resourceVersion') ?? '';
  const fromRv = rvParam === '' ? undefined : Number(rvParam);
  if (fromRv !== undefined && !Number.isInteger(fromRv)) {
    throw new HttpError(
      400,
      `resourceVersion: Invalid value: "${rvParam}": must be a decimal integer`,
      'BadRequest',
    );
  }
  if (fromRv !== undefined && fromRv !== 0 && fromRv <= ctx.store.compactedResourceVersion) {
    const status = expiredStatus(rvParam, ctx.store.compactedResourceVersion + 1);
    if (ctx.expiredWatch === 'http') return sendJson(res, 410, status);
    openStream(res);
    writeEvent(res, 'ERROR', status);
    res.end();
    return;
  }
  const timeout = req.query.get('timeoutSeconds');
  const stream = new WatchStream(
    res,
    ctx.store,
    {
      type: req.type,
      apiVersion,
      namespace: ns,
      matches,
      fromRv,
      bookmarks: req.query.get('allowWatchBookmarks') === 'true',
      bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      timeoutSeconds: timeout ? Number(timeout) : undefined,
    },
    (w) => ctx.watches.delete(w),
  );
  ctx.watches.add(stream);
  stream.start();
}

function parseBody(req: ResourceRequest): KubeObject {
  let obj: unknown;
  try {
    obj = JSON.parse(req.body);
  } catch (err) {
    throw new HttpError(
      400,
      `the body of the request was in an unknown format: ${(err as Error).message}`,
      'BadRequest',
    );
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new HttpError(400, 'the body must be an object');
  return obj as KubeObject;
}

function checkNamespace(body: KubeObject, ns: string | undefined): void {
  const bodyNs = body.metadata?.namespace;
  if (ns !== undefined && bodyNs !== undefined && bodyNs !== '' && bodyNs !== ns) {
    throw new HttpError(
      400,
      'the namespace of the provided object does not match the namespace sent on the request',
      'BadRequest',
    );
  }
}

function create(ctx: HandlerContext, req: ResourceRequest, ns: string | undefined): KubeObject {
  const body = parseBody(req);
  checkNamespace(body, ns);
  let name = body.metadata?.name;
  if (!name && body.metadata?.generateName)
    name = body.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
  if (!name)
    throw new HttpError(
      422,
      `${req.type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
      'Invalid',
    );
  const {
    resourceVersion: _rv,
    uid: _uid,
    creationTimestamp: _ts,
    generation: _g,
    ...meta
  } = body.metadata ?? {};
  const obj: KubeObject = {
    ...body,
    metadata: { ...meta, name, ...(ns !== undefined ? { namespace: ns } : {}) },
  };
  // Status is the controllers' to write, through the status subresource.
  if (req.type.hasStatus) delete obj.status;
  return ctx.store.create(req.type, obj);
}

/** Main writes keep the stored status; status writes keep everything else. */
function scoped(
  type: ResourceType,
  sub: string | undefined,
  current: KubeObject,
  next: KubeObject,
): KubeObject {
  if (sub === 'status') return { ...current, status: next.status };
  if (type.hasStatus) {
    const { status: _s, ...rest } = next;
    return current.status === undefined ? rest : { ...rest, status: current.status };
  }
  return next;
}

function update(ctx: HandlerContext, req: ResourceRequest, ns: string | undefined): KubeObject {
  const body = parseBody(req);
  checkNamespace(body, ns);
  const { type, route } = req;
  if (body.metadata?.name !== undefined && body.metadata.name !== route.name) {
    throw new HttpError(
      400,
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${route.name})`,
      'BadRequest',
    );
  }
  return ctx.store.update(
    type,
    ns,
    route.name!,
    (current) => {
      const next = scoped(type, route.subresource, current, body);
      next.metadata = { ...(route.subresource === 'status' ? current.metadata : body.metadata) };
      return next;
    },
    body.metadata?.resourceVersion,
  );
}

function patch(ctx: HandlerContext, req: ResourceRequest, ns: string | undefined): KubeObject {
  const { type, route } = req;
  const mediaType = req.contentType.split(';')[0]!.trim();
  let ops: unknown;
  try {
    ops = JSON.parse(req.body);
  } catch (err) {
    throw new HttpError(400, `error decoding patch: ${(err as Error).message}`, 'BadRequest');
  }
  let apply: (current: KubeObject) => KubeObject;
  switch (mediaType) {
    case 'application/merge-patch+json':
    case 'application/strategic-merge-patch+json':
    case 'application/apply-patch+yaml': // JSON is YAML; applied as a merge, without field ownership
      apply = (c) => mergePatch(c, ops) as KubeObject;
      break;
    case 'application/json-patch+json':
      apply = (c) => jsonPatch(c, ops) as KubeObject;
      break;
    default:
      throw new HttpError(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        'UnsupportedMediaType',
      );
  }
  const current = ctx.store.get(type, ns, route.name!);
  if (!current) throw new StoreError(404, 'NotFound', `${qualifiedName(type)} "${route.name}" not found`);
  const patched = apply(structuredClone(current));
  // A resourceVersion in the patch is a precondition, as with PUT.
  const expected = patched.metadata?.resourceVersion;
  return ctx.store.update(
    type,
    ns,
    route.name!,
    (c) => {
      const next = scoped(type, route.subresource, c, patched);
      next.metadata = route.subresource === 'status' ? c.metadata : patched.metadata;
      return next;
    },
    expected,
  );
}
