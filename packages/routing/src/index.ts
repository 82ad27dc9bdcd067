export { normalizeHost, normalizePath } from './normalize.js';
export * from './route-table.js';
