// The one interface both sources (a YAML file or directory, a Kubernetes API server) implement: they
// hand snapshots of objects, or a note that only endpoints changed, to one apply step. The CLI picks a
// source; nothing downstream knows which it is.
import type { SnapshotResult } from './snapshot.js';
import type { Snapshot } from './types.js';

/** The endpoint objects of some Services: what an endpoints-only change carries. */
export type EndpointObjects = Pick<Snapshot, 'endpointSlices' | 'endpoints'>;

export type SourceChange =
  | { readonly kind: 'snapshot'; readonly result: SnapshotResult }
  /**
   * Only EndpointSlices (or Endpoints) of these Services (`namespace/name`) changed: routes need not be
   * recompiled. `objects` holds every endpoint object of those Services (and may hold others).
   */
  | { readonly kind: 'endpoints'; readonly objects: EndpointObjects; readonly services: ReadonlySet<string> };

/**
 * How an error diagnostic is taken. `reject-snapshot`: a file is one document of the operator's, so one
 * error keeps the last good configuration running (and fails `--check`). `skip-object`: a cluster holds
 * many independent objects, so the object in error is left out and the rest is served.
 */
export type ErrorPolicy = 'reject-snapshot' | 'skip-object';

export interface ConfigSource {
  readonly errorPolicy: ErrorPolicy;
  /** Where the objects come from, for log lines (a path, an API server URL). */
  readonly description: string;
  /**
   * Reads everything once and resolves with the first snapshot (cluster: once every informer has
   * listed). Later changes go to `onChange`, in order, never before this resolves.
   */
  start(onChange: (change: SourceChange) => void): Promise<SnapshotResult>;
  /** Stops; once it resolves, `onChange` is never called again. */
  close(): Promise<void>;
}
