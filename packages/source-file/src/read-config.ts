import { createHash } from 'node:crypto';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '@gateway/manifests';

/** What `kubectl apply -f DIR` reads from a directory. */
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ConfigFile {
  /** The path as given, or joined with the directory's. */
  readonly path: string;
  /** Undefined when the caller said it already holds what this file's digest stands for (`known`). */
  readonly bytes: Buffer | undefined;
  /** sha256 of the file's bytes (hex): what a cache keeps instead of the bytes themselves. */
  readonly digest: string;
}

/**
 * Whether the caller already holds the parse of `path` with this digest: its bytes are then not kept,
 * so a reload of a large directory holds only the bytes of the files that changed.
 */
export type KnownFile = (path: string, digest: string) => boolean;

/** The bytes of a configuration, before any parsing. */
export interface RawConfig {
  readonly files: readonly ConfigFile[];
  /** Read errors, each naming its file. */
  readonly diagnostics: readonly Diagnostic[];
  /** sha256 over file names, contents and read errors: equal hashes mean nothing to reload. */
  readonly hash: string;
}

/**
 * Whether a directory entry is a manifest. Hidden names are left out: editors and atomic writers put
 * their temporary files there, and a ConfigMap volume its `..data` machinery.
 */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** Reads files through one buffer, reused: a file the caller already knows leaves no garbage. */
class FileReader {
  #buffer = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly known: KnownFile | undefined) {}

  async read(path: string): Promise<ConfigFile> {
    const handle = await open(path, 'r');
    try {
      const length = await this.#readAll(handle);
      const view = this.#buffer.subarray(0, length);
      const digest = createHash('sha256').update(view).digest('hex');
      // A copy: the buffer is overwritten by the next file.
      const bytes = this.known?.(path, digest) === true ? undefined : Buffer.from(view);
      return { path, bytes, digest };
    } finally {
      await handle.close();
    }
  }

  async #readAll(handle: FileHandle): Promise<number> {
    let length = 0;
    for (;;) {
      if (length === this.#buffer.length) {
        const bigger = Buffer.allocUnsafe(this.#buffer.length * 2);
        this.#buffer.copy(bigger, 0, 0, length);
        this.#buffer = bigger;
      }
      const { bytesRead } = await handle.read(this.#buffer, length, this.#buffer.length - length, null);
      if (bytesRead === 0) return length;
      length += bytesRead;
    }
  }
}

function readError(file: string, err: unknown): Diagnostic {
  const message = err instanceof Error ? err.message : String(err);
  return { severity: 'error', file, message: `cannot read configuration: ${message}` };
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Reads PATH, a file or a directory of manifests (non-recursive, sorted by name), keeping the bytes of
 * the files `known` does not know. Never throws: an unreadable path becomes an error diagnostic naming it.
 */
export async function readConfig(path: string, known?: KnownFile): Promise<RawConfig> {
  const reader = new FileReader(known);
  const files: ConfigFile[] = [];
  const diagnostics: Diagnostic[] = [];
  try {
    const st = await stat(path);
    if (st.isDirectory()) {
      // Code-unit order, not locale order: the same on every machine.
      const names = (await readdir(path)).filter(isManifestName).sort();
      for (const name of names) {
        const file = join(path, name);
        try {
          // stat follows symlinks (a ConfigMap volume's files are symlinks into `..data`).
          if (!(await stat(file)).isFile()) continue;
          files.push(await reader.read(file));
        } catch (err) {
          // Removed between readdir and read: it is simply gone; the watcher sees the removal too.
          if (!isNotFound(err)) diagnostics.push(readError(file, err));
        }
      }
    } else {
      files.push(await reader.read(path));
    }
  } catch (err) {
    diagnostics.push(readError(path, err));
  }

  // Over each file's digest: every byte is hashed once.
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\0${f.digest}\0`);
  for (const d of diagnostics) hash.update(`\0${d.file}\0${d.message}`);
  return { files, diagnostics, hash: hash.digest('hex') };
}
