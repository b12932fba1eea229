import { circuitStateNumber } from './circuit-state.js';
import { classifyError } from './classify-error.js';
import type { CounterFamily } from './counter.js';
import type { GaugeFamily } from './gauge.js';
import type { HistogramFamily } from './histogram.js';
import { resolveMetricsOptions, type MetricsOptions } from './options.js';
import { counterFamily, gaugeFamily, histogramFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';
import { SuccessSeries } from './success-series.js';
import { observeTraced } from './trace-context.js';

/** Registrations, calls, healthy instances and circuit state per service. Safe to call with any input. */
export class ServiceMeshMetrics {
  /** `mesh_registrations_total{service}`: instances registered. */
  readonly registrationsTotal: CounterFamily<'service'>;
  /** `mesh_registration_failures_total{service,error_type}`: registrations refused. */
  readonly registrationFailuresTotal: CounterFamily<'service' | 'error_type'>;
  /** `mesh_calls_total{service,operation,status}`: calls; failures also carry `error_type`. */
  readonly callsTotal: CounterFamily<'service' | 'operation' | 'status' | 'error_type'>;
  /** `mesh_call_duration_seconds{service,operation}`: whole call durations. */
  readonly callDurationSeconds: HistogramFamily<'service' | 'operation'>;
  /** `mesh_healthy_instances{service}`: instances not ejected. */
  readonly healthyInstances: GaugeFamily<'service'>;
  /** `mesh_circuit_breaker_state{service}`: 0 closed, 1 open, 2 half_open, 3 isolated. */
  readonly circuitBreakerState: GaugeFamily<'service'>;
  private readonly self: SelfMetrics;
  private readonly success: SuccessSeries;

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = (this.self = new SelfMetrics(o));
    this.registrationsTotal = counterFamily(o, self, {
      name: 'registrations_total',
      help: 'Service instances registered.',
      labelNames: ['service'],
    });
    this.registrationFailuresTotal = counterFamily(o, self, {
      name: 'registration_failures_total',
      help: 'Service instance registrations refused, by error type.',
      labelNames: ['service', 'error_type'],
    });
    this.callsTotal = counterFamily(o, self, {
      name: 'calls_total',
      help: 'Outbound calls by outcome; failed calls carry error_type.',
      labelNames: ['service', 'operation', 'status', 'error_type'],
      omitWhenEmpty: ['error_type'],
    });
    this.callDurationSeconds = histogramFamily(o, self, {
      name: 'call_duration_seconds',
      help: 'Duration of outbound calls, retries included, in seconds.',
      labelNames: ['service', 'operation'],
    });
    this.success = new SuccessSeries(this.callsTotal, this.callDurationSeconds);
    this.healthyInstances = gaugeFamily(o, self, {
      name: 'healthy_instances',
      help: 'Instances of a service that are not ejected.',
      labelNames: ['service'],
      aggregator: 'min',
    });
    this.circuitBreakerState = gaugeFamily(o, self, {
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 open, 2 half_open, 3 isolated.',
      labelNames: ['service'],
      aggregator: 'max',
    });
  }

  recordRegistration(service: string): void {
    try {
      this.registrationsTotal.labels(service).inc();
    } catch {
      this.self.internal();
    }
  }

  /** `error` is an error type such as `"invalid_url"`, an `Error` or a status; see `classifyError`. */
  recordRegistrationFailure(service: string, error: unknown): void {
    try {
      this.registrationFailuresTotal.labels(service, classifyError(error)).inc();
    } catch {
      this.self.internal();
    }
  }

  /** `traceId`, when given, becomes the duration's `{trace_id}` exemplar (shown by an OpenMetrics registry). */
  recordCallSuccess(service: string, operation: string, seconds: number, traceId?: string): void {
    try {
      const kept = this.success.of(service, operation);
      if (kept !== undefined) {
        kept.calls.get().inc();
        observeTraced(kept.duration.get(), seconds, traceId);
        return;
      }
      this.callsTotal.labels(service, operation, 'success', undefined).inc();
      observeTraced(this.callDurationSeconds.labels(service, operation), seconds, traceId);
    } catch {
      this.self.internal();
    }
  }

  recordCallFailure(service: string, operation: string, error: unknown, seconds?: number, traceId?: string): void {
    try {
      this.callsTotal.labels(service, operation, 'failure', classifyError(error)).inc();
      if (seconds !== undefined) observeTraced(this.callDurationSeconds.labels(service, operation), seconds, traceId);
    } catch {
      this.self.internal();
    }
  }

  updateHealthyInstances(service: string, count: number): void {
    try {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) this.self.invalidValue();
      else this.healthyInstances.labels(service).set(count);
    } catch {
      this.self.internal();
    }
  }

  /** `state` is a name (`closed`, `open`, `half_open`, `isolated`) or cockatiel's `CircuitState` number. */
  updateCircuitBreakerState(service: string, state: string | number): void {
    try {
      const n = circuitStateNumber(state);
      if (n === undefined) this.self.invalidValue();
      else this.circuitBreakerState.labels(service).set(n);
    } catch {
      this.self.internal();
    }
  }
}
