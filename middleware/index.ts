export * from './express.js';
export * from './koa.js';
export * from './instrument-express.js';
export * from './instrument-koa.js';
export * from './metrics-handler.js';
export * from './serve-metrics.js';
export { DEFAULT_EXCLUDE, DEFAULT_SERVICE, type ExcludeRule, type InboundOptions } from './inbound-options.js';
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
