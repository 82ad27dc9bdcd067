export {
  type AddressSource,
  INGRESS_STATUS_DEFAULTS,
  type IngressObject,
  IngressStatusWriter,
  type IngressStatusWriterOptions,
  type IngressView,
} from './ingress-status.js';
export {
  LEADER_ELECTION_DEFAULTS,
  LeaderElector,
  type LeaderElectorOptions,
  type Leadership,
  type LeaseSpec,
} from './leader-election.js';
export type { Logger } from './log.js';
export {
  type LoadBalancerIngress,
  normaliseAddresses,
  PublishAddresses,
  type PublishSource,
  parsePublishService,
  parsePublishStatusAddress,
  sameAddresses,
} from './publish-address.js';
