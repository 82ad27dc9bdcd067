export { ApiClient, ApiError } from './api-client.js';
export { type BackoffOptions, backoffDelay } from './backoff.js';
export {
  type AddressSource,
  INGRESS_STATUS_DEFAULTS,
  type IngressObject,
  IngressStatusWriter,
  type IngressStatusWriterOptions,
  type IngressView,
} from './ingress-status.js';
export { describeFailure } from './kind-watch.js';
export {
  type ClusterAccess,
  type ClusterCredentials,
  KubeAccess,
  type LoadedKubeConfig,
  loadKubeConfig,
} from './kube-config.js';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes-source.js';
export {
  LEADER_ELECTION_DEFAULTS,
  LeaderElector,
  type LeaderElectorOptions,
  type Leadership,
  type LeaseSpec,
} from './leader-election.js';
export type { Logger } from './log.js';
export { ObjectStore } from './object-store.js';
export {
  type LoadBalancerIngress,
  normaliseAddresses,
  PublishAddresses,
  type PublishSource,
  parsePublishService,
  parsePublishStatusAddress,
  sameAddresses,
} from './publish-address.js';
export { collectionPath, qualifiedResource, WATCHED_KINDS, type WatchedKind } from './resources.js';
