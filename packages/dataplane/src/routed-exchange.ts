// What a proxied request and a WebSocket upgrade share from their route decision to their record: the
// labels and forwarded values, the tries (retry state, as `DataPlane.mayTryAgain` reads it), and the
// upstream side of the access record.
import { performance } from 'node:perf_hooks';
import type { Backend, Endpoint, Route } from '@gateway/translate';
import type { Reported } from './access-record.js';
import type { DataPlane, Listener, Tries } from './data-plane.js';
import { upstreamStatusOf } from './failure-status.js';
import type { Exchange } from './http1/server-connection.js';
import type { DispatchController, DispatchHead, PoolFailure } from './http1/upstream-pool.js';
import type { RequestHead } from './request-head.js';
import type { ResponseFraming } from './response-head.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

export abstract class RoutedExchange implements Reported, Tries, ResponseFraming {
  readonly startedAt = performance.now();
  readonly method: string;
  route: Route | undefined = undefined;
  host = '';
  /** The request-target in origin form, as sent (what is forwarded and logged). */
  path: string;
  clientIp = '';
  requestId = '';
  upstreamAddr = '';
  upstreamStatus = '';
  upstreamMs = -1;
  backend: Backend | undefined = undefined;
  /** The backend's endpoints when the request started; retries pick from the same list. */
  endpoints: readonly Endpoint[] = NO_ENDPOINTS;
  exclude: Set<string> | undefined = undefined;
  attempts = 0;
  freeTries = 0;
  lastKey = '';
  /** The request as the backend gets it; built once, sent on every try. */
  upstream: DispatchHead | null = null;
  /** The backend response's Content-Length (-1: none), set while its head is rewritten. */
  contentLength = -1;
  protected controller: DispatchController | null = null;
  protected tryStart = 0;
  protected done = false;

  constructor(
    readonly plane: DataPlane,
    readonly ex: Exchange,
    readonly listener: Listener,
    readonly head: RequestHead,
  ) {
    this.method = ex.method;
    this.path = ex.url;
  }

  /** One try ended: its time and its status (or what its failure maps to) join the record. */
  protected tryEnded(status: number, failure: PoolFailure | 'client' | undefined): void {
    this.upstreamMs = Math.max(this.upstreamMs, 0) + (performance.now() - this.tryStart);
    const s = upstreamStatusOf(status, failure);
    this.upstreamStatus = this.upstreamStatus === '' ? s : `${this.upstreamStatus}, ${s}`;
  }
}
