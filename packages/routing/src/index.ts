export { normalizeHost, normalizePath } from './normalize.js';
export { ObjectMemo } from './object-memo.js';
export * from './route-table.js';
