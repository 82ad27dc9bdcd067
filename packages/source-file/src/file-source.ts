// A YAML file or directory as a `ConfigSource`: loaded once, then watched; every change is a snapshot.
import type { ConfigSource, SnapshotResult, SourceChange } from '@gateway/manifests';
import { loadConfig, ParseCache } from './load-config.js';
import { type ConfigWatcher, type WatchOptions, watchConfig } from './watch-config.js';

export class FileSource implements ConfigSource {
  readonly errorPolicy = 'reject-snapshot';
  readonly description: string;
  private watcher: ConfigWatcher | undefined;

  constructor(
    private readonly path: string,
    private readonly watchOptions: Omit<WatchOptions, 'since'> = {},
  ) {
    this.description = path;
  }

  async start(onChange: (change: SourceChange) => void): Promise<SnapshotResult> {
    // One cache for the first load and every reload: a change re-parses only the files it touched.
    const cache = new ParseCache();
    const loaded = await loadConfig(this.path, cache);
    this.watcher = watchConfig(this.path, (result) => onChange({ kind: 'snapshot', result }), {
      ...this.watchOptions,
      since: loaded.hash,
      cache,
    });
    return loaded;
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
