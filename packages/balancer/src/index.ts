export {
  type BalancedBackend,
  DEFAULT_AFFINITY_TIMEOUT_SECONDS,
  DEFAULT_MAX_AFFINITY_ENTRIES,
  type Endpoint,
  EndpointPicker,
  type EndpointPickerOptions,
  endpointKey,
} from './endpoint-picker.js';
