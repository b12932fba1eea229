// Scaling out: node:cluster aggregation, the Pushgateway, exemplars.
export * from './push-metrics.js';
