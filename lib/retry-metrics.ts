import { classifyError } from './classify-error.js';
import type { CounterFamily } from './counter.js';
import type { HistogramFamily } from './histogram.js';
import { resolveMetricsOptions, type MetricsOptions } from './options.js';
import { counterFamily, histogramFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';

/** Retries made on behalf of calls, and how those calls ended. Every method is safe to call with any input. */
export class RetryMetrics {
  /** `mesh_retry_attempts_total{service,operation,attempt}`: retries; `attempt="1"` is the first retry. */
  readonly retryAttemptsTotal: CounterFamily<'service' | 'operation' | 'attempt'>;
  /** `mesh_retry_success_total{service,operation}`: retried calls that ended in success. */
  readonly retrySuccessTotal: CounterFamily<'service' | 'operation'>;
  /** `mesh_retry_failure_total{service,operation,error_type}`: retried calls that gave up. */
  readonly retryFailureTotal: CounterFamily<'service' | 'operation' | 'error_type'>;
  /** `mesh_retry_duration_seconds{service,operation,status}`: whole duration of a call under a retry policy. */
  readonly retryDurationSeconds: HistogramFamily<'service' | 'operation' | 'status'>;
  private readonly self: SelfMetrics;

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = (this.self = new SelfMetrics(o));
    this.retryAttemptsTotal = counterFamily(o, self, {
      name: 'retry_attempts_total',
      help: 'Retries made for calls; attempt is the retry number, "1" for the first retry.',
      labelNames: ['service', 'operation', 'attempt'],
    });
    this.retrySuccessTotal = counterFamily(o, self, {
      name: 'retry_success_total',
      help: 'Calls under a retry policy that ended in success.',
      labelNames: ['service', 'operation'],
    });
    this.retryFailureTotal = counterFamily(o, self, {
      name: 'retry_failure_total',
      help: 'Calls under a retry policy that failed after their last attempt, by error type.',
      labelNames: ['service', 'operation', 'error_type'],
    });
    this.retryDurationSeconds = histogramFamily(o, self, {
      name: 'retry_duration_seconds',
      help: 'Duration of calls under a retry policy, all attempts and delays included, in seconds.',
      labelNames: ['service', 'operation', 'status'],
    });
  }

  /** Counts retry number `attempt` (1 for the first retry). */
  recordAttempt(service: string, operation: string, attempt: number): void {
    try {
      if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) this.self.invalidValue();
      else this.retryAttemptsTotal.labels(service, operation, attempt).inc();
    } catch {
      this.self.internal();
    }
  }

  /** A call that succeeded after `attempts` attempts, taking `seconds` in all. */
  recordSuccess(service: string, operation: string, _attempts: number, seconds: number): void {
    try {
      this.retrySuccessTotal.labels(service, operation).inc();
      this.retryDurationSeconds.labels(service, operation, 'success').observe(seconds);
    } catch {
      this.self.internal();
    }
  }

  /** A call that gave up after `attempts` attempts with `error` (an `Error`, a status or an error type). */
  recordFailure(service: string, operation: string, _attempts: number, error: unknown, seconds?: number): void {
    try {
      this.retryFailureTotal.labels(service, operation, classifyError(error)).inc();
      if (seconds !== undefined) this.retryDurationSeconds.labels(service, operation, 'failure').observe(seconds);
    } catch {
      this.self.internal();
    }
  }
}
