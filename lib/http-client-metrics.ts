import { classifyError } from './classify-error.js';
import type { HistogramFamily } from './histogram.js';
import { methodLabel } from './http-server-metrics.js';
import type { ResolvedMetricsOptions } from './options.js';
import { histogramFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';

/** The labels of `http_client_request_duration_seconds` (OpenTelemetry semantic conventions 1.44). */
export type HttpClientLabel =
  | 'http_request_method'
  | 'server_address'
  | 'server_port'
  | 'http_response_status_code'
  | 'error_type';

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** What one outbound attempt ended with: a status when a response came back, else the error. */
export interface ClientOutcome {
  readonly status: number | undefined;
  readonly error: unknown;
}

/**
 * OpenTelemetry naming's outbound family: `http_client_request_duration_seconds{http_request_method,server_address,
 * server_port,http_response_status_code,error_type}`, one observation per attempt. `error_type` is the status for a
 * 4xx or 5xx answer, else the kit's `error_type` of the error (`timeout`, `connection_refused`, …); absent on
 * success. `http_response_status_code` is absent when no response came back. Never throws.
 */
export class HttpClientMetrics {
  readonly requestDuration: HistogramFamily<HttpClientLabel>;
  private readonly faults: SelfMetrics;

  constructor(options: ResolvedMetricsOptions) {
    const faults = (this.faults = new SelfMetrics(options));
    this.requestDuration = histogramFamily(options, faults, {
      name: 'http_client_request_duration_seconds',
      fullName: 'http_client_request_duration_seconds',
      help: 'Duration of HTTP client requests.',
      labelNames: ['http_request_method', 'server_address', 'server_port', 'http_response_status_code', 'error_type'],
      omitWhenEmpty: ['http_response_status_code', 'error_type'],
    });
  }

  /** Records one attempt to `url` (absolute) taking `seconds`. */
  observe(method: string | undefined, url: string | URL | undefined, outcome: ClientOutcome, seconds: number): void {
    try {
      let address = '';
      let port = '';
      if (url !== undefined) {
        const u = url instanceof URL ? url : new URL(url);
        address = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
        port = u.port === '' ? (DEFAULT_PORTS[u.protocol] ?? '') : u.port;
      }
      const status = outcome.status;
      const error =
        status !== undefined && status >= 400 ? String(status) : outcome.error === undefined ? '' : classifyError(outcome.error);
      this.requestDuration
        .labelsOf([methodLabel(method?.toUpperCase()), address, port, status ?? '', error])
        .observe(seconds);
    } catch {
      this.faults.internal();
    }
  }
}
