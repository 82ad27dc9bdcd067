export {
  LEADER_ELECTION_DEFAULTS,
  LeaderElector,
  type LeaderElectorOptions,
  type Leadership,
  type LeaseSpec,
} from './leader-election.js';
export type { Logger } from './log.js';
