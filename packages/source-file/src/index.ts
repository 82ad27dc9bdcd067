export { FileSource } from './file-source.js';
export { type ConfigResult, loadConfig, ParseCache } from './load-config.js';
export { type ConfigWatcher, type WatchOptions, watchConfig } from './watch-config.js';
