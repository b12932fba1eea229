import type { CounterFamily } from './counter.js';
import type { FaultSink } from './family.js';
import type { ResolvedMetricsOptions } from './options.js';
import { counterFamily } from './registration.js';

/** The `kind` values of `mesh_metrics_errors_total`. */
export type FaultKind = 'invalid_value' | 'internal';

/**
 * The kit's own health: `mesh_metrics_overflow_total{metric}` counts observations diverted to a full family's
 * overflow series, `mesh_metrics_errors_total{kind}` counts dropped values and caught internal faults.
 * One per registry and prefix; every family of that registry reports here.
 */
export class SelfMetrics implements FaultSink {
  readonly overflowTotal: CounterFamily<'metric'>;
  readonly errorsTotal: CounterFamily<'kind'>;

  constructor(options: ResolvedMetricsOptions) {
    this.overflowTotal = counterFamily(options, null, {
      name: 'metrics_overflow_total',
      help: 'Observations sent to a family\'s overflow series because the family reached maxSeries.',
      labelNames: ['metric'],
    });
    this.errorsTotal = counterFamily(options, null, {
      name: 'metrics_errors_total',
      help: 'Values dropped as invalid (NaN, infinite, negative durations) and internal faults caught by mesh-metrics.',
      labelNames: ['kind'],
    });
  }

  invalidValue(): void {
    this.errorsTotal.labels('invalid_value').inc();
  }

  internal(): void {
    this.errorsTotal.labels('internal').inc();
  }

  overflow(metricName: string): void {
    this.overflowTotal.labels(metricName).inc();
  }

  /** Counts a fault of the given kind. */
  count(kind: FaultKind): void {
    this.errorsTotal.labels(kind).inc();
  }
}
