import type { GaugeFamily } from './gauge.js';
import type { HistogramFamily } from './histogram.js';
import type { ResolvedMetricsOptions } from './options.js';
import { gaugeFamily, histogramFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';

/** The labels of `mesh_http_server_request_duration_seconds`. */
export type HttpServerLabel = 'service' | 'method' | 'route' | 'status_code';

/** The `route` value of requests that matched no route (404s, scanners, `next()` into nothing). */
export const UNMATCHED_ROUTE = '__unmatched__';

/** The `method` value of any method outside the standard nine. */
export const OTHER_METHOD = '_OTHER';

/** The standard HTTP methods (RFC 9110 and PATCH); any other method is counted as {@link OTHER_METHOD}. */
export const STANDARD_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

const METHOD_LABELS: Readonly<Record<string, string>> = Object.assign(
  Object.create(null) as Record<string, string>,
  Object.fromEntries(STANDARD_METHODS.map((m) => [m, m])),
);

/** The `method` label for a request method: itself when standard, else {@link OTHER_METHOD}. */
export function methodLabel(method: string | undefined): string {
  return (method !== undefined && METHOD_LABELS[method]) || OTHER_METHOD;
}

/**
 * The inbound families: `mesh_http_server_request_duration_seconds{service,method,route,status_code}` (its `_count`
 * is the request counter) and `mesh_http_server_requests_in_flight{service}`. Constructing it twice on one registry
 * and prefix shares the families.
 */
export class HttpServerMetrics {
  /** Request duration in seconds, from the first middleware to the response's last byte (or the abort). */
  readonly requestDuration: HistogramFamily<HttpServerLabel>;
  /** Requests that have started and not yet finished or been aborted. */
  readonly requestsInFlight: GaugeFamily<'service'>;
  /** Where dropped values and caught faults are counted. */
  readonly faults: SelfMetrics;

  constructor(options: ResolvedMetricsOptions) {
    const faults = (this.faults = new SelfMetrics(options));
    this.requestDuration = histogramFamily(options, faults, {
      name: 'http_server_request_duration_seconds',
      help: 'Duration of inbound HTTP requests in seconds, to the last byte of the response; _count counts them.',
      labelNames: ['service', 'method', 'route', 'status_code'],
    });
    this.requestsInFlight = gaugeFamily(options, faults, {
      name: 'http_server_requests_in_flight',
      help: 'Inbound HTTP requests being served right now.',
      labelNames: ['service'],
    });
  }
}
