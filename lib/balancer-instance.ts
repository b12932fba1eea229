import { PeakEwma } from './ewma.js';
import type { InstanceSeries } from './instance-series.js';
import { newOutlierState, type OutlierState } from './outlier-detector.js';

/** An instance a balancer can send to: the URL it was registered with and its origin (the metrics label). */
export interface BalancerInstance {
  /** The URL as registered (it may carry a base path or credentials; it is never a label). */
  readonly url: string;
  /** `scheme://host:port`: the instance's identity and its `instance` label. */
  readonly origin: string;
}

/** One instance's state, as `balancer.instances()` reports it. */
export interface InstanceSnapshot extends BalancerInstance {
  /** Attempts in flight. */
  readonly inFlight: number;
  /** EWMA of attempt outcomes (1 success, 0 failure), starting at 1. */
  readonly healthScore: number;
  /** Peak-EWMA latency in milliseconds, 0 before the first attempt ends. */
  readonly latencyMs: number;
  readonly consecutiveFailures: number;
  readonly ejected: boolean;
  /** When the current ejection ends, on the balancer's clock (`now()`); `undefined` when not ejected. */
  readonly ejectedUntil: number | undefined;
  /** How many times the instance has been ejected. */
  readonly ejections: number;
  /** Attempts started through the balancer. */
  readonly requests: number;
  /** Attempts that failed. */
  readonly failures: number;
}

/** The balancer's mutable record of one instance. */
export class InstanceRecord implements BalancerInstance {
  inFlight = 0;
  requests = 0;
  failures = 0;
  healthScore = 1;
  removed = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly latency: PeakEwma;
  readonly outlier: OutlierState = newOutlierState();

  constructor(
    readonly url: string,
    readonly origin: string,
    latencyDecayMs: number,
    /** The instance's series, kept for its attempts. */
    readonly series: InstanceSeries,
  ) {
    this.latency = new PeakEwma(latencyDecayMs);
  }

  get ejected(): boolean {
    return this.outlier.ejectedUntil !== undefined;
  }

  snapshot(now: number): InstanceSnapshot {
    return Object.freeze({
      url: this.url,
      origin: this.origin,
      inFlight: this.inFlight,
      healthScore: this.healthScore,
      latencyMs: this.latency.read(now),
      consecutiveFailures: this.outlier.consecutiveFailures,
      ejected: this.ejected,
      ejectedUntil: this.outlier.ejectedUntil,
      ejections: this.outlier.ejections,
      requests: this.requests,
      failures: this.failures,
    });
  }
}
