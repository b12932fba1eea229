export * from './circuit-state.js';
export * from './classify-error.js';
export * from './counter.js';
export * from './family.js';
export * from './gauge.js';
export * from './histogram.js';
export * from './label-value.js';
export * from './load-balancer-metrics.js';
export * from './options.js';
export * from './metrics-registry.js';
export * from './registration.js';
export * from './retry-metrics.js';
export * from './self-metrics.js';
export * from './service-mesh-metrics.js';
export * from './failure.js';
export * from './balancer.js';
export * from './instance-origin.js';
export * from './http-server-metrics.js';
export * from './render.js';
export * from './openmetrics-text.js';
export {
  DEFAULT_NATIVE_MAX_BUCKETS,
  DEFAULT_NATIVE_SCHEMA,
  DEFAULT_NATIVE_ZERO_THRESHOLD,
  MAX_NATIVE_SCHEMA,
  MIN_NATIVE_SCHEMA,
  NativeHistogram,
  nativeBucketIndex,
  nativeBucketUpperBound,
  resolveNativeHistogramOptions,
  type BucketSpan,
  type NativeHistogramOptions,
  type NativeHistogramSnapshot,
  type ResolvedNativeHistogramOptions,
  type SparseBuckets,
} from './native-histogram.js';
export {
  gzipProtobuf,
  protobufChunks,
  protobufPieces,
  PROTOBUF_CONTENT_TYPE,
} from './protobuf-exposition.js';
export * from './ejection-metrics.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export * from './http-client-metrics.js';
