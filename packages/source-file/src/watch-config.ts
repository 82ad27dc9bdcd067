import { type FSWatcher, type Stats, watch } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type ConfigResult, ParseCache, toConfigResult } from './load-config.js';
import { isManifestName, readConfig } from './read-config.js';

export interface WatchOptions {
  /** Quiet time after the last change before the configuration is re-read. Default 100 ms. */
  debounceMs?: number;
  /** Interval of the stat-based safety net for changes fs.watch misses. Default 500 ms. */
  pollMs?: number;
  /**
   * `hash` of the result the caller already holds (from `loadConfig`): the watcher then emits at once if
   * the configuration changed in between. Without it, the watcher's own first read is the baseline and
   * is not emitted.
   */
  since?: string;
  /** Parse results kept between reads (the one `loadConfig` filled): unchanged files are not parsed again. */
  cache?: ParseCache;
}

export interface ConfigWatcher {
  /** Resolves once the watch is in place and the baseline read: changes from then on are reported. */
  readonly ready: Promise<void>;
  /** Stops watching; once it resolves, `onChange` is never called again. */
  close(): Promise<void>;
}

/**
 * Watches PATH (file or directory, as `loadConfig` reads it) and calls `onChange` with the whole
 * configuration re-read, about `debounceMs` after the last change, and only when the bytes changed.
 * A file is watched through its directory, so renames over it (editors, atomic writes, a ConfigMap's
 * `..data` symlink swap) are seen; a slow stat poll catches what fs.watch misses (a directory replaced,
 * a symlink target changed elsewhere). Never throws: read and parse errors arrive as diagnostics.
 */
export function watchConfig(
  path: string,
  onChange: (result: ConfigResult) => void,
  opts: WatchOptions = {},
): ConfigWatcher {
  const watcher = new ConfigFileWatcher(
    path,
    onChange,
    opts.debounceMs ?? 100,
    opts.pollMs ?? 500,
    opts.since,
    opts.cache ?? new ParseCache(),
  );
  return { ready: watcher.started, close: () => watcher.close() };
}

class ConfigFileWatcher {
  private closed = false;
  private debounceTimer: NodeJS.Timeout | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  private polling = false;
  private fsWatcher: FSWatcher | undefined;
  /** Inode of the directory fs.watch follows: if it changes, the watch is on a stale directory. */
  private watchedIno: number | undefined;
  /** Directory fs.watch follows and, when PATH is a file, the one name that matters in it. */
  private watchDir = '';
  private fileName: string | undefined;
  private lastFingerprint = '';
  private lastHash: string | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  readonly started: Promise<void>;

  constructor(
    private readonly path: string,
    private readonly onChange: (result: ConfigResult) => void,
    private readonly debounceMs: number,
    pollMs: number,
    since: string | undefined,
    private readonly cache: ParseCache,
  ) {
    this.lastHash = since;
    this.pollTimer = setInterval(() => void this.poll(), pollMs);
    // start() catches its own errors; the catch only guards against a bug becoming an unhandled rejection.
    this.started = this.start(since !== undefined).catch(() => undefined);
  }

  private async start(haveBaseline: boolean): Promise<void> {
    const st = await stat(this.path).catch(() => undefined);
    if (st?.isDirectory()) {
      this.watchDir = this.path;
    } else {
      // fs.watch on the file itself would follow the old inode after a rename over it.
      this.watchDir = dirname(this.path);
      this.fileName = basename(this.path);
    }
    await this.ensureFsWatcher();
    this.lastFingerprint = await fingerprint(this.path);
    if (this.closed) return;
    if (haveBaseline) {
      this.schedule();
    } else {
      // Read after the watch is in place, so a change during this read is not lost.
      // Only the hash is wanted here: no bytes kept.
      const raw = await readConfig(this.path, () => true);
      this.lastHash ??= raw.hash;
    }
  }

  private async ensureFsWatcher(): Promise<void> {
    const ino = await stat(this.watchDir).then(
      (s) => s.ino,
      () => undefined,
    );
    if (this.closed) return;
    if (this.fsWatcher !== undefined && ino === this.watchedIno) return;
    this.closeFsWatcher();
    if (ino === undefined) return; // no directory yet: the poll tries again
    try {
      const w = watch(this.watchDir, (_event, name) => this.onFsEvent(name));
      w.on('error', () => {
        // e.g. the directory went away; the next poll re-creates the watch.
        if (this.fsWatcher === w) this.closeFsWatcher();
        this.schedule();
      });
      this.fsWatcher = w;
      this.watchedIno = ino;
    } catch {
      // ENOENT/EACCES: the poll keeps trying, and reports changes meanwhile.
    }
  }

  private closeFsWatcher(): void {
    this.fsWatcher?.close();
    this.fsWatcher = undefined;
    this.watchedIno = undefined;
  }

  private onFsEvent(name: string | Buffer | null): void {
    if (this.fileName !== undefined && typeof name === 'string') {
      // Our file, or Kubernetes' atomic writer (`..data`, `..data_tmp`, `..2025_…`) in a ConfigMap volume.
      if (name !== this.fileName && !name.startsWith('..')) return;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(this.debounced, this.debounceMs);
  }

  private readonly debounced = (): void => {
    this.debounceTimer = undefined;
    void this.reload();
  };

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.ensureFsWatcher();
      const fp = await fingerprint(this.path);
      if (fp !== this.lastFingerprint) {
        this.lastFingerprint = fp;
        // A change fs.watch reported has its read scheduled already; the poll must not push it back.
        // It did, and a poll landing late in that change's debounce moved its read past the next
        // change, so two changes 150 ms apart were read as one (10 of 100 in the yardstick's swaps).
        if (this.debounceTimer === undefined) this.schedule();
      }
    } finally {
      this.polling = false;
    }
  }

  /** Reads and emits; a change arriving while a read is running gets another read right after it. */
  private async reload(): Promise<void> {
    if (this.reloading !== undefined) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reloadOnce();
      } while (this.reloadAgain && !this.closed);
    })();
    await this.reloading;
    this.reloading = undefined;
  }

  private async reloadOnce(): Promise<void> {
    const raw = await readConfig(this.path, this.cache.known);
    if (this.closed || raw.hash === this.lastHash) return;
    this.lastHash = raw.hash;
    const result = toConfigResult(raw, this.cache);
    if (this.closed) return;
    try {
      this.onChange(result);
    } catch (err) {
      // The callback's own failure must not stop the watch, nor surface as an unhandled rejection.
      process.emitWarning(`watchConfig: onChange threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.pollTimer);
    this.closeFsWatcher();
    await this.started;
    this.closeFsWatcher(); // start() may have opened one while we were closing
    await this.reloading;
  }
}

function signature(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Cheap summary of PATH's state for the poll: inode, size and times of it and of its manifests. */
async function fingerprint(path: string): Promise<string> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  if (!st.isDirectory()) return signature(st);
  const parts = [signature(st)];
  try {
    const names = (await readdir(path)).filter(isManifestName).sort();
    for (const name of names) {
      const entry = await stat(`${path}/${name}`).then(signature, () => 'gone');
      parts.push(`${name}=${entry}`);
    }
  } catch {
    parts.push('unreadable');
  }
  return parts.join('|');
}
