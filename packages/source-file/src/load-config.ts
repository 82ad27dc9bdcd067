import {
  buildSnapshot,
  type Diagnostic,
  emptySnapshot,
  parseManifests,
  type Snapshot,
  type SourcedObject,
} from '@gateway/manifests';
import { type RawConfig, readConfig } from './read-config.js';

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

/** Parses what `readConfig` read. Never throws: a failure of the parser itself becomes a diagnostic. */
export function toConfigResult(raw: RawConfig): ConfigResult {
  try {
    return parse(raw);
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

function parse(raw: RawConfig): ConfigResult {
  const objects: SourcedObject[] = [];
  const diagnostics: Diagnostic[] = [...raw.diagnostics];
  // Order numbers continue across files, so "oldest wins" between objects without a
  // creationTimestamp follows file name order, then position in the file.
  for (const file of raw.files) {
    const parsed = parseManifests(file.bytes.toString('utf8'), file.path, objects.length);
    objects.push(...parsed.objects);
    diagnostics.push(...parsed.diagnostics);
  }
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
export async function loadConfig(path: string): Promise<ConfigResult> {
  return toConfigResult(await readConfig(path));
}
