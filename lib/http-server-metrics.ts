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

/** Which of the optional inbound families to record; each is on unless `false`. */
export interface HttpServerFamilies {
  /** `…_response_first_byte_seconds`. @defaultValue `true` */
  readonly firstByte?: boolean;
  /** The request and response body size histograms. @defaultValue `true` */
  readonly bodySizes?: boolean;
}

/** The label names of the HTTP families in OpenTelemetry naming (semantic conventions 1.44). */
export const OTEL_SERVER_LABELS = [
  'http_request_method',
  'http_route',
  'http_response_status_code',
  'url_scheme',
  'error_type',
] as const;

/** The label names of the per-request inbound families in the kit's naming. */
export const MESH_SERVER_LABELS = ['service', 'method', 'route', 'status_code'] as const;

/** Label names a custom label may not take: every built-in one of either naming, and the histogram's `le`. */
export const RESERVED_LABELS: readonly string[] = Object.freeze([...MESH_SERVER_LABELS, ...OTEL_SERVER_LABELS, 'le']);

/**
 * The inbound families. Kit naming: `mesh_http_server_request_duration_seconds{service,method,route,status_code}`
 * (its `_count` is the request counter), `mesh_http_server_response_first_byte_seconds`, the request and response
 * body size histograms (same labels) and `mesh_http_server_requests_in_flight{service}`. OpenTelemetry naming:
 * `http_server_request_duration_seconds`, `http_server_request_body_size_bytes`,
 * `http_server_response_body_size_bytes` (labels {@link OTEL_SERVER_LABELS}), `http_server_active_requests
 * {http_request_method,url_scheme}`; the first-byte family keeps its kit name (OpenTelemetry has none) with the
 * OpenTelemetry labels. Custom label names follow the built-in ones on the per-request families. Constructing it
 * twice on one registry and prefix (with the same custom labels) shares the families.
 */
export class HttpServerMetrics {
  /** Request duration in seconds, from the first middleware to the response's last byte (or the abort). */
  readonly requestDuration: HistogramFamily<string>;
  /** Seconds from the first middleware to the response's head; `undefined` when turned off. */
  readonly firstByte: HistogramFamily<string> | undefined;
  /** Request body bytes as received; `undefined` when body sizes are turned off. */
  readonly requestSize: HistogramFamily<string> | undefined;
  /** Response body bytes as sent (after any compression); `undefined` when body sizes are turned off. */
  readonly responseSize: HistogramFamily<string> | undefined;
  /** Requests that have started and not yet finished or been aborted (`{service}`, or OpenTelemetry's two). */
  readonly requestsInFlight: GaugeFamily<string>;
  /** Where dropped values and caught faults are counted. */
  readonly faults: SelfMetrics;
  readonly naming: 'mesh' | 'otel';

  constructor(
    options: ResolvedMetricsOptions,
    customLabels: readonly string[] = [],
    enabled: Readonly<HttpServerFamilies> = {},
  ) {
    const faults = (this.faults = new SelfMetrics(options));
    const otel = options.naming === 'otel';
    this.naming = options.naming;
    const labelNames = [...(otel ? OTEL_SERVER_LABELS : MESH_SERVER_LABELS), ...customLabels];
    const omitWhenEmpty = otel ? ['http_route', 'http_response_status_code', 'error_type'] : [];
    const per = (name: string, otelName: string | undefined, help: string, buckets: 'duration' | 'firstByte' | 'size') =>
      histogramFamily(options, faults, {
        name,
        ...(otel && otelName !== undefined ? { fullName: otelName } : {}),
        help,
        labelNames,
        omitWhenEmpty,
        buckets,
      });
    this.requestDuration = per(
      'http_server_request_duration_seconds',
      'http_server_request_duration_seconds',
      otel
        ? 'Duration of HTTP server requests.'
        : 'Duration of inbound HTTP requests in seconds, to the last byte of the response (to its head for event streams and upgrades); _count counts them.',
      'duration',
    );
    this.firstByte = enabled.firstByte === false ? undefined : per(
      'http_server_response_first_byte_seconds',
      undefined,
      'Seconds from the arrival of an inbound HTTP request to the moment its response head was written.',
      'firstByte',
    );
    this.requestSize = enabled.bodySizes === false ? undefined : per(
      'http_server_request_body_size_bytes',
      'http_server_request_body_size_bytes',
      otel ? 'Size of HTTP server request bodies.' : 'Body bytes of inbound HTTP requests as received (headers excluded).',
      'size',
    );
    this.responseSize = enabled.bodySizes === false ? undefined : per(
      'http_server_response_body_size_bytes',
      'http_server_response_body_size_bytes',
      otel
        ? 'Size of HTTP server response bodies.'
        : 'Body bytes of inbound HTTP responses as sent, compressed when compression ran (headers excluded).',
      'size',
    );
    this.requestsInFlight = otel
      ? gaugeFamily(options, faults, {
          name: 'http_server_active_requests',
          fullName: 'http_server_active_requests',
          help: 'Number of active HTTP server requests.',
          labelNames: ['http_request_method', 'url_scheme'],
        })
      : gaugeFamily(options, faults, {
          name: 'http_server_requests_in_flight',
          help: 'Inbound HTTP requests being served right now.',
          labelNames: ['service'],
        });
  }
}
