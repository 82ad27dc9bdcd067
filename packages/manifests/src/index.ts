export { didYouMean } from './did-you-mean.js';
export { formatDiagnostic, formatLocation } from './format.js';
export { type ParseResult, parseManifests } from './parse.js';
export { buildSnapshot, emptySnapshot, type SnapshotResult } from './snapshot.js';
export type { ConfigSource, EndpointObjects, ErrorPolicy, SourceChange } from './source.js';
export type * from './types.js';
export { isReadKind, type ValidationResult, validateObject } from './validate.js';
