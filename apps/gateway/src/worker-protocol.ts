// What the primary and its workers say to each other over the cluster IPC channel (structured clone:
// `serialization: 'advanced'`, so Maps cross as Maps and a Backend shared by routes stays shared).
//
// A configuration crosses as data: the compiled route table is a closure and stays behind; the worker
// compiles `rules` itself (routing's compileRoutes) and its TLS bindings (CertificateStore.compile), then
// swaps both in with one DataPlane.setActive. Its bytes (`v8.serialize`d once) are handed over in a file
// (handover.ts): the channel carries the file's name. A configuration that is mostly the last one goes as
// what changed (config-delta.ts), over the channel; so does an endpoints-only change, as the changed
// entries.
import v8 from 'node:v8';
import type { MetricsSnapshot } from '@gateway/metrics';
import { compileRoutes } from '@gateway/routing';
import type { Endpoint, EndpointTable, GatewayConfig, LayeredEndpointTable } from '@gateway/translate';
import type { ConfigDelta } from './config-delta.js';
import type { PayloadBytes } from './handover.js';
import { type PackedPayload, packPayload, unpackPayload } from './payload-codec.js';

/** A GatewayConfig without its compiled route table. */
export type ConfigPayload = Omit<GatewayConfig, 'routes'>;

/** Field by field: `routes` is compiled when first read (translate), and the primary never needs it. */
export function toPayload(config: GatewayConfig): ConfigPayload {
  const { backends, endpoints, tls, rules, summary } = config;
  return { backends, endpoints, tls, rules, summary };
}

/** As columns over a table of strings (payload-codec.ts), then `v8.serialize`d. */
export function encodePayload(payload: ConfigPayload): Uint8Array {
  return v8.serialize(packPayload(payload));
}

export function decodePayload(bytes: Uint8Array): ConfigPayload {
  return unpackPayload(v8.deserialize(bytes) as PackedPayload);
}

/**
 * With `reuse`: rules that are objects of an earlier payload (config-delta.ts) keep their hosts' paths;
 * a whole payload's rules are all new objects and only prime that for the next one.
 */
export function fromPayload(payload: ConfigPayload): GatewayConfig {
  return { ...payload, routes: compileRoutes(payload.rules, { reuse: true }) };
}

export function encodeDelta(delta: ConfigDelta): Uint8Array {
  return v8.serialize(delta);
}

export function decodeDelta(bytes: Uint8Array): ConfigDelta {
  return v8.deserialize(bytes) as ConfigDelta;
}

/** Endpoint entries set (or deleted: undefined) since a table. */
export type EndpointChanges = [string, readonly Endpoint[] | undefined][];

/**
 * translate's LayeredEndpointTable, told by its shape: workers load this module, and not translate (nor
 * what it loads).
 */
function isLayered(table: EndpointTable): table is LayeredEndpointTable {
  const t = table as Partial<LayeredEndpointTable>;
  return t.base !== undefined && t.changed !== undefined && typeof t.get === 'function';
}

/** The entries of `next` that are not those of `previous` (undefined: the key is gone). */
export function endpointChanges(previous: EndpointTable, next: EndpointTable): EndpointChanges {
  const changes: EndpointChanges = [];
  // An EndpointSlice change layers its entries over the same base (refreshEndpoints): only those can differ.
  if (isLayered(next)) {
    const base = isLayered(previous) ? previous.base : previous;
    if (base === next.base) {
      for (const [key, list] of next.changed) if (previous.get(key) !== list) changes.push([key, list]);
      if (isLayered(previous)) {
        for (const key of previous.changed.keys()) {
          if (!next.changed.has(key)) changes.push([key, next.get(key)]);
        }
      }
      return changes;
    }
  }
  for (const [key, list] of next) if (previous.get(key) !== list) changes.push([key, list]);
  for (const key of previous.keys()) if (!next.has(key)) changes.push([key, undefined]);
  return changes;
}

export function withChanges(table: EndpointTable, changes: Readonly<EndpointChanges>): EndpointTable {
  const next = new Map(table);
  for (const [key, list] of changes) {
    if (list === undefined) next.delete(key);
    else next.set(key, list);
  }
  return next;
}

/**
 * The ports the workers listening already opened: one that listens with its own SO_REUSEPORT sockets
 * (`--workers N --reuse-port`) binds them alongside theirs. None: it is the first, and opens
 * the ports of the flags.
 */
export interface SiblingPorts {
  readonly httpPort: number;
  readonly httpsPort: number;
}

/** Primary → worker. `seq` numbers every swap; a worker answers `applied` with it. */
export type ToWorker =
  | {
      t: 'init';
      /** The primary's self-signed default certificate, so every worker answers with the same one. */
      defaultKeyPem: string;
      defaultCertPem: string;
      /** The primary's TLS session-ticket keys: a session resumes on whichever worker it lands. */
      ticketKeys: Uint8Array;
      /** Its turn among the workers (the order in which they opened the ports) and their number. */
      worker: { index: number; count: number };
      /** Open the ports once it is applied; else (at start) when told (`listen`), in its turn. */
      listenNow: boolean;
      /** With `listenNow`: the ports to open (see SiblingPorts). */
      ports?: SiblingPorts;
      /**
       * The configuration to serve before listening (none yet in a cluster that is still listing): the
       * current one's bytes, and the endpoints changed since it was made.
       */
      current?: { seq: number; base: number; payload: PayloadBytes; changes: EndpointChanges };
    }
  /**
   * `payload`: the ConfigPayload, `v8.serialize`d once for every worker (10,000 Ingresses: 12 MB and
   * ~75 ms to serialize), in a file they all read (or inline, where no file can be written).
   */
  /** `changes`: endpoint entries changed since the payload was made (a resend, after `needsWhole`). */
  | { t: 'config'; seq: number; payload: PayloadBytes; changes?: EndpointChanges }
  /**
   * What changed since swap `base` (an encoded ConfigDelta, a few KB where one Ingress changed): a worker
   * that does not hold that swap's configuration answers `needsWhole`.
   */
  | { t: 'config-delta'; seq: number; delta: Uint8Array }
  | { t: 'endpoints'; seq: number; changes: EndpointChanges }
  /** At start, after `init`: open the ports now (the workers before it in order listen). */
  | { t: 'listen'; ports?: SiblingPorts }
  | { t: 'metrics'; id: number }
  | { t: 'shutdown'; timeoutMs: number };

/** Worker → primary. */
export type FromWorker =
  /** Its message handler is set: messages sent before this could be lost while the module loads. */
  | { t: 'hello' }
  | { t: 'listening'; http: number; https: number; seq: number }
  /** `error`: it could not apply that configuration (read, check or compile) and serves the last one. */
  | { t: 'applied'; seq: number; error?: string }
  /** A `config-delta` on a configuration it does not hold (it kept an older one): send it whole. */
  | { t: 'needsWhole'; seq: number }
  /** It cannot serve (its ports would not open): it exits next. */
  | { t: 'failed'; message: string }
  | { t: 'metrics'; id: number; metrics: MetricsSnapshot };

/**
 * A worker's descriptor for its log and access-log lines (whole lines, as bytes): a pipe to the primary,
 * which relays them to stdout, its one writer (line-relay.ts). Not the IPC channel: each batch there was
 * serialized, deserialized into a string and encoded again, about 7 % of the gateway's CPU in the primary
 * at ~38,000 requests a second.
 */
export const WORKER_LOG_FD = 4;
