// How long to wait before restarting a failed informer: exponential, capped, with full jitter so that
// replicas (and informers of one process) do not hammer a recovering API server in step.

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000 };

/** Delay before retry number `attempt` (0 = the first retry); `random` in [0, 1). */
export function backoffDelay(
  attempt: number,
  random: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half random: never a zero wait, never above the cap.
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
