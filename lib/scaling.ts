// Scaling out: node:cluster aggregation, the Pushgateway, exemplars.
export * from './push-metrics.js';
export * from './cluster-aggregation.js';
export { clusterPrimaryMetrics, type ClusterPrimaryMetrics } from './cluster-one-port.js';
export * from './thread-aggregation.js';
export * from '../middleware/cluster-metrics-handler.js';
export * from './trace-context.js';
