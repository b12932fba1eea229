export * from './express.js';
export * from './koa.js';
export * from './instrument-express.js';
export * from './instrument-koa.js';
export * from './metrics-handler.js';
export * from './serve-metrics.js';
export {
  DEFAULT_EXCLUDE,
  DEFAULT_SERVICE,
  MAX_CUSTOM_LABELS,
  type CustomLabels,
  type ExcludeRule,
  type InboundOptions,
  type SkipInfo,
} from './inbound-options.js';
export { OTEL_ABORTED_ERROR } from './request-labels.js';
export { CLIENT_CLOSED_STATUS } from './recorder.js';
export { acceptsProtobuf } from './protobuf-scrape.js';
export {
  acceptsGzip,
  acceptsOpenMetrics,
  createScraper,
  type ScrapeOptions,
  type ScrapeReply,
  type Scraper,
} from './scrape.js';
