import type { CounterSeries } from './counter.js';
import type { GaugeSeries } from './gauge.js';
import type { HistogramSeries } from './histogram.js';
import { KeptSeries } from './kept-series.js';
import type { LoadBalancerMetrics } from './load-balancer-metrics.js';
import { observeTraced } from './trace-context.js';

/**
 * The per-instance series of one balancer instance (`{service,instance}`, and the strategy for requests), kept on its
 * record so that an attempt writes them without a label lookup each: what {@link LoadBalancerMetrics}'s methods of the
 * same names record, with the same label guard and cap (see {@link KeptSeries}). The balancer's values are its own
 * (an in-flight count, a health score in 0..1), so they are written as they are.
 */
export class InstanceSeries {
  private readonly requests: KeptSeries<CounterSeries>;
  private readonly active: KeptSeries<GaugeSeries>;
  private readonly health: KeptSeries<GaugeSeries>;
  private readonly duration: KeptSeries<HistogramSeries>;
  private readonly head: KeptSeries<HistogramSeries>;
  private readonly requestSize: KeptSeries<HistogramSeries>;
  private readonly responseSize: KeptSeries<HistogramSeries>;

  constructor(lb: LoadBalancerMetrics, service: string, instance: string, strategy: string) {
    this.requests = new KeptSeries(lb.requestsTotal, service, instance, strategy);
    this.active = new KeptSeries(lb.activeConnections, service, instance);
    this.health = new KeptSeries(lb.instanceHealthScore, service, instance);
    this.duration = new KeptSeries(lb.requestDurationSeconds, service, instance);
    this.head = new KeptSeries(lb.responseFirstByte, service, instance);
    this.requestSize = new KeptSeries(lb.requestBodySize, service, instance);
    this.responseSize = new KeptSeries(lb.responseBodySize, service, instance);
  }

  /** `mesh_lb_requests_total` +1. */
  recordRequest(): void {
    this.requests.get().inc();
  }

  /** `mesh_lb_active_connections`. */
  activeConnections(inFlight: number): void {
    this.active.get().set(inFlight);
  }

  /** `mesh_lb_instance_health_score`. */
  healthScore(score: number): void {
    this.health.get().set(score);
  }

  /** `mesh_lb_request_duration_seconds`, with the trace as its exemplar when given. */
  observeDuration(seconds: number, traceId: string | undefined): void {
    observeTraced(this.duration.get(), seconds, traceId);
  }

  /** `mesh_lb_response_first_byte_seconds`. */
  observeFirstByte(seconds: number): void {
    this.head.get().observe(seconds);
  }

  /** Both body size histograms; a size not known (`undefined`) is not observed. */
  observeBodySizes(requestBytes: number | undefined, responseBytes: number | undefined): void {
    if (requestBytes !== undefined) this.requestSize.get().observe(requestBytes);
    if (responseBytes !== undefined) this.responseSize.get().observe(responseBytes);
  }
}
