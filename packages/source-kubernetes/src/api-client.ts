// Plain JSON requests to the API server with the KubeConfig's credentials. The typed clients of
// client-node turn timestamps into Date objects and drop what they do not model; the gateway validates
// objects as the API serves them, the same way it validates a file, so it reads raw JSON.
// (client-node's http module alone: its package index loads every generated API client and model.)
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { fetch } from 'undici';
import type { ClusterAccess } from './kube-config.js';

/** A failed call, with what a log line needs: the HTTP status, the API's reason and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const METHODS: Record<string, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

export class ApiClient {
  readonly server: string;

  constructor(readonly kubeConfig: ClusterAccess) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** `what` names the call in errors, e.g. `list ingresses.networking.k8s.io`. */
  async request<T>(
    method: keyof typeof METHODS,
    path: string,
    what: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const ctx = new RequestContext(`${this.server}${path}`, METHODS[method]!);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(ctx.getUrl(), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        dispatcher: ctx.getDispatcher(),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        0,
        'Unreachable',
        `${what}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) return JSON.parse(text) as T;
    let status: { reason?: string; message?: string } = {};
    try {
      status = JSON.parse(text) as typeof status;
    } catch {
      // Not a Status object (a proxy in between, say): the HTTP status is all there is.
    }
    const reason = status.reason ?? response.statusText;
    throw new ApiError(
      response.status,
      reason,
      `${what}: ${response.status} ${reason}${status.message ? `: ${status.message}` : ''}`,
    );
  }
}
