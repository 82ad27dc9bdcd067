import {
  buildSnapshot,
  type Diagnostic,
  emptySnapshot,
  parseManifests,
  type Snapshot,
  type SourcedObject,
} from '@gateway/manifests';
import { type ConfigFile, type KnownFile, type RawConfig, readConfig } from './read-config.js';

export interface ConfigResult {
  /** Built from every object that parsed; the caller decides whether `diagnostics` forbid applying it. */
  readonly snapshot: Snapshot;
  /** Read errors, then parse and validation diagnostics, file by file. */
  readonly diagnostics: Diagnostic[];
  /** The files read, in the order their objects were numbered. */
  readonly files: string[];
  /** Fingerprint of the bytes read; pass it to `watchConfig` as `since` to close the load/watch gap. */
  readonly hash: string;
}

interface CacheEntry {
  /** sha256 of the bytes parsed: the bytes themselves are not kept (megabytes for a large directory). */
  readonly digest: string;
  /** Numbered from 0. */
  readonly objects: SourcedObject[];
  readonly diagnostics: Diagnostic[];
  /** The objects as last handed out, numbered from `firstOrder`: reused while that does not change. */
  numbered: { readonly firstOrder: number; readonly objects: SourcedObject[] } | undefined;
}

/**
 * Parse results by file, kept between reads: a change to one file of a large directory re-parses that
 * file alone (parsing YAML is most of a reload), and the other files hand out the very same objects.
 * Keyed by path and content digest, so it is only a cache.
 */
export class ParseCache {
  #files = new Map<string, CacheEntry>();

  /** The objects of `file` numbered from `firstOrder`, parsed again only when its bytes changed. */
  parse(file: ConfigFile, firstOrder: number): { objects: SourcedObject[]; diagnostics: Diagnostic[] } {
    let entry = this.#files.get(file.path);
    if (entry === undefined || entry.digest !== file.digest) {
      // Read with another cache's `known`: a bug, reported as a failure to parse (toConfigResult).
      if (file.bytes === undefined) throw new Error(`${file.path}: bytes not kept, and not in the cache`);
      const parsed = parseManifests(file.bytes.toString('utf8'), file.path, 0);
      entry = {
        digest: file.digest,
        objects: parsed.objects,
        diagnostics: parsed.diagnostics,
        numbered: undefined,
      };
      this.#files.set(file.path, entry);
    }
    if (firstOrder === 0) return { objects: entry.objects, diagnostics: entry.diagnostics };
    // Orders continue across files, and a file before this one may have gained or lost objects.
    if (entry.numbered?.firstOrder !== firstOrder) {
      const objects = entry.objects.map((o) => ({
        object: o.object,
        source: { ...o.source, order: o.source.order + firstOrder },
      }));
      entry.numbered = { firstOrder, objects };
    }
    return { objects: entry.numbered.objects, diagnostics: entry.diagnostics };
  }

  /** For `readConfig`: whether this file's parse is held, so its bytes need not be. */
  readonly known: KnownFile = (path, digest) => this.#files.get(path)?.digest === digest;

  /** Forgets the files not in `paths` (removed from the directory). */
  retain(paths: Iterable<string>): void {
    const keep = new Set(paths);
    for (const path of this.#files.keys()) if (!keep.has(path)) this.#files.delete(path);
  }
}

/** Parses what `readConfig` read. Never throws: a failure of the parser itself becomes a diagnostic. */
export function toConfigResult(raw: RawConfig, cache: ParseCache = new ParseCache()): ConfigResult {
  try {
    return parse(raw, cache);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      snapshot: emptySnapshot,
      diagnostics: [
        ...raw.diagnostics,
        { severity: 'error', message: `cannot parse configuration: ${message}` },
      ],
      files: raw.files.map((f) => f.path),
      hash: raw.hash,
    };
  }
}

function parse(raw: RawConfig, cache: ParseCache): ConfigResult {
  const objects: SourcedObject[] = [];
  const diagnostics: Diagnostic[] = [...raw.diagnostics];
  // Order numbers continue across files, so "oldest wins" between objects without a
  // creationTimestamp follows file name order, then position in the file.
  for (const file of raw.files) {
    const parsed = cache.parse(file, objects.length);
    for (const o of parsed.objects) objects.push(o);
    for (const d of parsed.diagnostics) diagnostics.push(d);
  }
  cache.retain(raw.files.map((f) => f.path));
  const built = buildSnapshot(objects);
  diagnostics.push(...built.diagnostics);
  return {
    snapshot: built.snapshot,
    diagnostics,
    files: raw.files.map((f) => f.path),
    hash: raw.hash,
  };
}

/**
 * Reads PATH (a multi-document YAML file, or a directory of `*.yaml`, `*.yml`, `*.json` read
 * non-recursively in name order, as `kubectl apply -f DIR`) into a snapshot. Never throws: an
 * unreadable path is an error diagnostic naming it.
 */
export async function loadConfig(path: string, cache?: ParseCache): Promise<ConfigResult> {
  return toConfigResult(await readConfig(path, cache?.known), cache);
}
