import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '@gateway/manifests';

/** What `kubectl apply -f DIR` reads from a directory. */
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ConfigFile {
  /** The path as given, or joined with the directory's. */
  readonly path: string;
  readonly bytes: Buffer;
  /** sha256 of `bytes` (hex): what a cache keeps instead of the bytes themselves. */
  readonly digest: string;
}

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

function configFile(path: string, bytes: Buffer): ConfigFile {
  return { path, bytes, digest: createHash('sha256').update(bytes).digest('hex') };
}

function readError(file: string, err: unknown): Diagnostic {
  const message = err instanceof Error ? err.message : String(err);
  return { severity: 'error', file, message: `cannot read configuration: ${message}` };
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Reads PATH, a file or a directory of manifests (non-recursive, sorted by name). Never throws: an
 * unreadable path becomes an error diagnostic naming it.
 */
export async function readConfig(path: string): Promise<RawConfig> {
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
          files.push(configFile(file, await readFile(file)));
        } catch (err) {
          // Removed between readdir and read: it is simply gone; the watcher sees the removal too.
          if (!isNotFound(err)) diagnostics.push(readError(file, err));
        }
      }
    } else {
      files.push(configFile(path, await readFile(path)));
    }
  } catch (err) {
    diagnostics.push(readError(path, err));
  }

  // Over each file's digest: every byte is hashed once.
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\0${f.bytes.length}\0${f.digest}\0`);
  for (const d of diagnostics) hash.update(`\0${d.file}\0${d.message}`);
  return { files, diagnostics, hash: hash.digest('hex') };
}
