import type { CounterFamily } from './counter.js';
import type { GaugeFamily } from './gauge.js';
import { resolveMetricsOptions, type MetricsOptions } from './options.js';
import { counterFamily, gaugeFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';

/** Why outlier detection ejected an instance: the `reason` label. */
export type EjectionReason = 'consecutive_failures' | 'success_rate';

/** Outlier ejections you can see: how often, why, and who is out now. Every method is safe to call with any input. */
export class EjectionMetrics {
  /** `mesh_lb_ejections_total{service,instance,reason}`: ejections by outlier detection. */
  readonly ejectionsTotal: CounterFamily<'service' | 'instance' | 'reason'>;
  /** `mesh_lb_instance_ejected{service,instance}`: 1 while the instance is ejected, else 0. */
  readonly instanceEjected: GaugeFamily<'service' | 'instance'>;
  private readonly self: SelfMetrics;

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = (this.self = new SelfMetrics(o));
    this.ejectionsTotal = counterFamily(o, self, {
      name: 'lb_ejections_total',
      help: 'Instances ejected by outlier detection, by reason (consecutive_failures, success_rate).',
      labelNames: ['service', 'instance', 'reason'],
    });
    this.instanceEjected = gaugeFamily(o, self, {
      name: 'lb_instance_ejected',
      help: 'Whether outlier detection has the instance ejected now (1) or not (0).',
      labelNames: ['service', 'instance'],
      aggregator: 'max',
    });
  }

  recordEjection(service: string, instance: string, reason: EjectionReason): void {
    try {
      this.ejectionsTotal.labels(service, instance, reason).inc();
      this.instanceEjected.labels(service, instance).set(1);
    } catch {
      this.self.internal();
    }
  }

  /** The instance is in (registered, or back from an ejection). */
  recordReturn(service: string, instance: string): void {
    try {
      this.instanceEjected.labels(service, instance).set(0);
    } catch {
      this.self.internal();
    }
  }

  /** The instance is gone: its gauge leaves the exposition (its ejection counts stay). */
  forget(service: string, instance: string): void {
    this.instanceEjected.remove(service, instance);
  }
}
