export { ApiClient, ApiError } from './api-client.js';
export { type BackoffOptions, backoffDelay } from './backoff.js';
export { describeFailure, type SourceLogger } from './kind-watch.js';
export { loadKubeConfig } from './kube-config.js';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes-source.js';
export { ObjectStore } from './object-store.js';
export { collectionPath, qualifiedResource, WATCHED_KINDS, type WatchedKind } from './resources.js';
