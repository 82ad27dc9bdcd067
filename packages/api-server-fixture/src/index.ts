export {
  ApiServerFixture,
  type FailSpec,
  type FixtureOptions,
  type WaitOptions,
  type WatchInfo,
  type WriteEvent,
} from './fixture.js';
export type { KubeConfigObject, KubeconfigOptions } from './kubeconfig.js';
export type { RequestMatch, RequestRecord } from './requests.js';
export type { KubeObject } from './resources.js';
export type { Verb } from './routes.js';
