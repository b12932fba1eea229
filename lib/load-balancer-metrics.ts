import { classifyError } from './classify-error.js';
import type { CounterFamily } from './counter.js';
import type { GaugeFamily } from './gauge.js';
import type { HistogramFamily } from './histogram.js';
import { resolveMetricsOptions, type MetricsOptions } from './options.js';
import { counterFamily, gaugeFamily, histogramFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';
import { observeTraced } from './trace-context.js';

/**
 * The `instance` label written for an empty (or missing) instance. Prometheus reads an empty label as no label, so
 * after the shipped relabelling (`exported_instance` back to `instance`) the series would take the scrape target's
 * own address, crediting this process with the upstream's traffic.
 */
export const UNKNOWN_INSTANCE = 'unknown_instance';

function instanceLabel(instance: string): string {
  return instance === '' || instance === undefined || instance === null ? UNKNOWN_INSTANCE : instance;
}

/** Per-instance metrics of a client-side load balancer. Every method is safe to call with any input. */
export class LoadBalancerMetrics {
  /** `mesh_lb_requests_total{service,instance,strategy}`: attempts sent to an instance. */
  readonly requestsTotal: CounterFamily<'service' | 'instance' | 'strategy'>;
  /** `mesh_lb_errors_total{service,error_type}`: failed attempts. */
  readonly errorsTotal: CounterFamily<'service' | 'error_type'>;
  /** `mesh_lb_request_duration_seconds{service,instance}`: attempt durations. */
  readonly requestDurationSeconds: HistogramFamily<'service' | 'instance'>;
  /** `mesh_lb_request_body_size_bytes{service,instance}`: request body bytes an attempt sent. */
  readonly requestBodySize: HistogramFamily<'service' | 'instance'>;
  /** `mesh_lb_response_body_size_bytes{service,instance}`: response body bytes an attempt received. */
  readonly responseBodySize: HistogramFamily<'service' | 'instance'>;
  /** `mesh_lb_response_first_byte_seconds{service,instance}`: attempt start to the response head. */
  readonly responseFirstByte: HistogramFamily<'service' | 'instance'>;
  /** `mesh_lb_active_connections{service,instance}`: attempts in flight. */
  readonly activeConnections: GaugeFamily<'service' | 'instance'>;
  /** `mesh_lb_instance_health_score{service,instance}`: 0 (failing) to 1 (healthy). */
  readonly instanceHealthScore: GaugeFamily<'service' | 'instance'>;
  private readonly self: SelfMetrics;

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = (this.self = new SelfMetrics(o));
    this.requestsTotal = counterFamily(o, self, {
      name: 'lb_requests_total',
      help: 'Requests (attempts) a load balancer sent to an instance.',
      labelNames: ['service', 'instance', 'strategy'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
    });
    this.errorsTotal = counterFamily(o, self, {
      name: 'lb_errors_total',
      help: 'Failed attempts through a load balancer, by error type.',
      labelNames: ['service', 'error_type'],
    });
    this.requestDurationSeconds = histogramFamily(o, self, {
      name: 'lb_request_duration_seconds',
      help: 'Duration of attempts sent to an instance, in seconds.',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
    });
    this.requestBodySize = histogramFamily(o, self, {
      name: 'lb_request_body_size_bytes',
      help: 'Request body bytes of attempts sent to an instance.',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
      buckets: 'size',
    });
    this.responseBodySize = histogramFamily(o, self, {
      name: 'lb_response_body_size_bytes',
      help: 'Response body bytes of attempts sent to an instance, as received (compressed when the response was).',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
      buckets: 'size',
    });
    this.responseFirstByte = histogramFamily(o, self, {
      name: 'lb_response_first_byte_seconds',
      help: 'Seconds from the start of an attempt sent to an instance to the arrival of its response head.',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
      buckets: 'firstByte',
    });
    this.activeConnections = gaugeFamily(o, self, {
      name: 'lb_active_connections',
      help: 'Attempts currently in flight to an instance.',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
    });
    this.instanceHealthScore = gaugeFamily(o, self, {
      name: 'lb_instance_health_score',
      help: 'Health score of an instance, from 0 (failing) to 1 (healthy).',
      labelNames: ['service', 'instance'],
      emptyAs: { instance: UNKNOWN_INSTANCE },
      aggregator: 'average',
    });
  }

  recordRequest(service: string, instance: string, strategy: string): void {
    try {
      this.requestsTotal.labels(service, instanceLabel(instance), strategy).inc();
    } catch {
      this.self.internal();
    }
  }

  /** `error` is an error type, an `Error` or an HTTP status; see `classifyError`. */
  recordError(service: string, error: unknown): void {
    try {
      this.errorsTotal.labels(service, classifyError(error)).inc();
    } catch {
      this.self.internal();
    }
  }

  /** `traceId`, when given, becomes the duration's `{trace_id}` exemplar (shown by an OpenMetrics registry). */
  observeRequestDuration(service: string, instance: string, seconds: number, traceId?: string): void {
    try {
      observeTraced(this.requestDurationSeconds.labels(service, instanceLabel(instance)), seconds, traceId);
    } catch {
      this.self.internal();
    }
  }

  /** Body sizes of one attempt in bytes; an `undefined` size (not known) is not observed. */
  observeBodySizes(service: string, instance: string, requestBytes: number | undefined, responseBytes: number | undefined): void {
    try {
      if (requestBytes !== undefined) this.requestBodySize.labels(service, instance).observe(requestBytes);
      if (responseBytes !== undefined) this.responseBodySize.labels(service, instance).observe(responseBytes);
    } catch {
      this.self.internal();
    }
  }

  /** Seconds from an attempt's start to its response head. */
  observeFirstByte(service: string, instance: string, seconds: number): void {
    try {
      this.responseFirstByte.labels(service, instance).observe(seconds);
    } catch {
      this.self.internal();
    }
  }

  updateActiveConnections(service: string, instance: string, connections: number): void {
    try {
      if (typeof connections !== 'number' || !(connections >= 0)) this.self.invalidValue();
      else this.activeConnections.labels(service, instanceLabel(instance)).set(connections);
    } catch {
      this.self.internal();
    }
  }

  /** A score outside 0..1 is clamped; NaN is dropped and counted. */
  updateHealthScore(service: string, instance: string, score: number): void {
    try {
      if (typeof score !== 'number' || Number.isNaN(score)) this.self.invalidValue();
      else this.instanceHealthScore.labels(service, instanceLabel(instance)).set(Math.min(1, Math.max(0, score)));
    } catch {
      this.self.internal();
    }
  }
}
