// The package's public API: exactly what the README documents (its "API stability" section lists every name here,
// and test/public-api.test.ts compares the two). Internals are imported from their own files, never from here.

// The seed metric sets and error classification
export { LoadBalancerMetrics } from './lib/load-balancer-metrics.js';
export { RetryMetrics } from './lib/retry-metrics.js';
export { ServiceMeshMetrics } from './lib/service-mesh-metrics.js';
export { classifyError, type ErrorType } from './lib/classify-error.js';
export type { CircuitStateName } from './lib/circuit-state.js';
export { defaultIsFailure, isBrokenResponse } from './lib/failure.js';
export type { BucketOptions, MetricsOptions, Naming } from './lib/options.js';
export type { HttpServerFamilies } from './lib/http-server-metrics.js';
export type { NativeHistogramOptions } from './lib/native-histogram.js';
export type { MetricsRegistry } from './lib/metrics-registry.js';
export type { CounterFamily, CounterSeries } from './lib/counter.js';
export type { GaugeFamily, GaugeSeries } from './lib/gauge.js';
export type { HistogramFamily, HistogramSeries } from './lib/histogram.js';

// Inbound: Express and Koa middleware, the /metrics handlers and server
export { meshMetrics, type ExpressMiddleware } from './middleware/express.js';
export { koaMeshMetrics, type KoaInboundContext, type KoaLabelContext, type KoaMiddleware } from './middleware/koa.js';
export { instrumentExpress, type ExpressTarget, type Instrumentation } from './middleware/instrument-express.js';
export { instrumentKoa, type KoaAppLike } from './middleware/instrument-koa.js';
export type { CustomLabels, ExcludeRule, InboundOptions, SkipInfo } from './middleware/inbound-options.js';
export {
  koaMetricsHandler,
  metricsHandler,
  type ExpressHandler,
  type KoaMetricsHandlerOptions,
  type KoaScrapeContext,
} from './middleware/metrics-handler.js';
export type { ScrapeOptions } from './middleware/scrape.js';
export { serveMetrics, type MetricsAddress, type MetricsServer, type ServeMetricsOptions } from './middleware/serve-metrics.js';

// Outbound: the balancer and axios
export { createBalancer, type Balancer, type BalancerAttempt } from './lib/balancer.js';
export type { BalancerOptions } from './lib/balancer-options.js';
export type { BalancerStrategy } from './lib/balancer-strategies.js';
export type { BalancerInstance, InstanceSnapshot } from './lib/balancer-instance.js';
export type { OutlierOptions } from './lib/outlier-detector.js';
export { instrumentAxios, isNoInstanceError, type NoInstanceError } from './interceptors/axios.js';
export type {
  AxiosInstanceLike,
  AxiosOperationFunction,
  AxiosRequestConfigLike,
  InstrumentAxiosOptions,
  MeshRequestOptions,
} from './interceptors/axios-options.js';

// Outbound: fetch and undici
export {
  meshDispatcher,
  type DispatcherLike,
  type FetchDispatcher,
  type MeshDispatcher,
  type MeshDispatcherBase,
  type MeshDispatcherOptions,
  type MeshDispatchOptions,
  type UndiciModuleLike,
} from './interceptors/undici.js';
export { isUpstreamResponseError, type UpstreamResponse, type UpstreamResponseError } from './interceptors/undici-attempt.js';
export { EjectionMetrics, type EjectionReason } from './lib/ejection-metrics.js';
export type { SuccessRateOptions } from './lib/success-rate.js';

// Retries and circuit breakers (cockatiel)
export { meshPolicy } from './interceptors/mesh-policy.js';
export { instrumentPolicy } from './interceptors/instrument-policy.js';
export type { RetryBudgetOptions } from './lib/retry-budget.js';
export type {
  InstrumentPolicyOptions,
  InstrumentedPolicy,
  MeshCircuitBreakerOptions,
  MeshPolicyOptions,
  MeshRetryOptions,
  PolicyCallContext,
  PolicyLogger,
  PolicyMetricsOptions,
} from './interceptors/policy-types.js';
export type { PolicyContextLike, PolicyLike } from './interceptors/policy-walk.js';

// Scaling out: node:cluster, worker_threads, the Pushgateway, exemplars
export {
  clusterMetricsHandler,
  koaClusterMetricsHandler,
  koaThreadMetricsHandler,
  threadMetricsHandler,
  type ClusterMetricsHandlerOptions,
  type KoaClusterMetricsHandlerOptions,
  type KoaContextLike,
  type KoaThreadMetricsHandlerOptions,
} from './middleware/cluster-metrics-handler.js';
export { clusterWorkerMetrics, type ClusterWorkerOptions } from './lib/cluster-aggregation.js';
export { clusterPrimaryMetrics, type ClusterPrimaryMetrics } from './lib/cluster-one-port.js';
export {
  threadMetricsAggregator,
  workerThreadMetrics,
  type ThreadAggregatorOptions,
  type WorkerThreadMetrics,
  type WorkerThreadOptions,
} from './lib/thread-aggregation.js';
export { isPushMetricsError, pushMetrics, type PushMetricsError, type PushMetricsOptions } from './lib/push-metrics.js';
export {
  activeSpanTraceId,
  exemplarTraceReader,
  observeTraced,
  traceIdFromTraceparent,
  type TraceIdReader,
} from './lib/trace-context.js';
