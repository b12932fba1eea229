export type * from './policy-types.js';
export type { PolicyLike, PolicyContextLike } from './policy-walk.js';
export { instrumentPolicy, isInstrumentedPolicy, policyListenerCount } from './instrument-policy.js';
export { meshPolicy } from './mesh-policy.js';
export { DEFAULT_CIRCUIT_BREAKER, DEFAULT_POLICY_OPERATION, DEFAULT_RETRY } from './policy-options.js';
