import { InstanceRecord, type BalancerInstance, type InstanceSnapshot } from './balancer-instance.js';
import { performanceClock, resolveBalancerOptions, type BalancerOptions } from './balancer-options.js';
import { STRATEGIES, type BalancerStrategy, type PickContext, type PickFunction } from './balancer-strategies.js';
import { classifyError } from './classify-error.js';
import { EjectionMetrics, type EjectionReason } from './ejection-metrics.js';
import { nextHealthScore } from './ewma.js';
import { instanceOrigin } from './instance-origin.js';
import { InstanceSeries } from './instance-series.js';
import { LoadBalancerMetrics } from './load-balancer-metrics.js';
import { resolveMetricsOptions } from './options.js';
import { OutlierDetector } from './outlier-detector.js';
import { SelfMetrics } from './self-metrics.js';
import { ServiceMeshMetrics } from './service-mesh-metrics.js';
import { successRateOutliers } from './success-rate.js';

export type { BalancerInstance, InstanceSnapshot } from './balancer-instance.js';
export { BALANCER_STRATEGIES, type BalancerStrategy } from './balancer-strategies.js';
export type { OutlierOptions, SuccessRateOptions } from './outlier-detector.js';
export type { BalancerOptions } from './balancer-options.js';

/** One attempt sent through the balancer; end it exactly once (later calls are ignored). */
export interface BalancerAttempt {
  readonly instance: BalancerInstance;
  /** The trace this attempt belongs to: its duration's exemplar (only an OpenMetrics registry shows it). */
  traceId?: string | undefined;
  /** The attempt succeeded. */
  succeed(): void;
  /**
   * The attempt failed with `error` (an `Error`, an HTTP status or an error type). A cancellation (`cancelled`)
   * is counted in `mesh_lb_errors_total` but does not touch the instance's health score or outlier streak.
   */
  fail(error: unknown): void;
  /**
   * Records the attempt's body sizes in bytes into `mesh_lb_request_body_size_bytes` and
   * `mesh_lb_response_body_size_bytes`: request body as sent, response body as received (compressed when it was);
   * `undefined` for a size the caller does not know. Once per attempt, before or after it ends; later calls are
   * ignored. Any outbound integration (axios, fetch) calls it. Optional, so that a balancer of your own need not
   * implement it (its attempts then record no sizes).
   */
  bodySizes?(requestBytes: number | undefined, responseBytes: number | undefined): void;
  /**
   * Records the seconds from the attempt's start to its response head into `mesh_lb_response_first_byte_seconds`;
   * once per attempt (later calls are ignored), only for attempts that got a head.
   */
  firstByte?(seconds: number): void;
}

/** A client-side load balancer over one service's instances, with outlier detection and metrics. */
export interface Balancer {
  readonly service: string;
  readonly strategy: BalancerStrategy;
  /**
   * Chooses an instance without accounting for an attempt; `undefined` when none is registered. When every
   * instance is ejected, all are candidates again (Envoy's panic mode).
   */
  pick(): BalancerInstance | undefined;
  /**
   * Chooses an instance and starts an attempt on it: `mesh_lb_requests_total` +1 and the instance's in-flight count
   * and `mesh_lb_active_connections` up until the attempt ends. `undefined` when no instance is registered.
   */
  start(): BalancerAttempt | undefined;
  /** Adds an instance; false (and a counted registration failure) for an invalid URL or one already registered. */
  register(url: string): boolean;
  /** Removes the instance of this URL's origin; false when there is none. */
  deregister(url: string): boolean;
  /** Every registered instance's state, in registration order. */
  instances(): InstanceSnapshot[];
  /** Stops the timers that bring ejected instances back (the balancer still works, checking on each pick). */
  dispose(): void;
}

class Attempt implements BalancerAttempt {
  private done = false;
  private sized = false;
  private headed = false;
  traceId: string | undefined;
  constructor(
    private readonly balancer: MeshBalancer,
    readonly instance: InstanceRecord,
    readonly startedAt: number,
  ) {}

  succeed(): void {
    this.endAt(undefined, true, Number.NaN);
  }

  fail(error: unknown): void {
    this.endAt(error, false, Number.NaN);
  }

  /** Ends the attempt (once); `at`: a `performance.now()` reading just taken, or NaN (see {@link endAttemptAt}). */
  endAt(error: unknown, success: boolean, at: number): void {
    if (this.done) return;
    this.done = true;
    this.balancer.end(this, error, success, at);
  }

  bodySizes(requestBytes: number | undefined, responseBytes: number | undefined): void {
    if (this.sized) return;
    this.sized = true;
    this.balancer.sizes(this, requestBytes, responseBytes);
  }

  firstByte(seconds: number): void {
    if (this.headed) return;
    this.headed = true;
    this.balancer.head(this, seconds);
  }
}

class MeshBalancer implements Balancer {
  readonly service: string;
  readonly strategy: BalancerStrategy;
  private readonly records = new Map<string, InstanceRecord>();
  private available: InstanceRecord[] = [];
  private ejectedCount = 0;
  private readonly choose: PickFunction;
  private readonly ctx: PickContext;
  private readonly now: () => number;
  /** Whether the clock is {@link performanceClock}, so that a reading an integration just took can stand for one. */
  private readonly sharedClock: boolean;
  private readonly outlier: OutlierDetector;
  private readonly latencyDecayMs: number;
  private readonly lb: LoadBalancerMetrics;
  private readonly mesh: ServiceMeshMetrics;
  private readonly ejections: EjectionMetrics;
  private readonly self: SelfMetrics;
  private disposed = false;
  /** When the current success-rate interval began (clock milliseconds). */
  private intervalStart: number;

  constructor(options: BalancerOptions) {
    const o = resolveBalancerOptions(options);
    const metrics = resolveMetricsOptions(options);
    this.self = new SelfMetrics(metrics);
    this.lb = new LoadBalancerMetrics(metrics);
    this.mesh = new ServiceMeshMetrics(metrics);
    this.ejections = new EjectionMetrics(metrics);
    this.service = o.service;
    this.strategy = o.strategy;
    this.latencyDecayMs = o.latencyDecayMs;
    this.outlier = new OutlierDetector(o.outlier);
    this.now = o.now;
    this.sharedClock = o.now === performanceClock;
    this.choose = STRATEGIES[o.strategy];
    this.ctx = { cursor: 0, random: o.random, now: o.now };
    this.intervalStart = this.startTime();
    for (const url of o.instances) this.register(url);
    this.mesh.updateHealthyInstances(o.service, this.available.length);
  }

  pick(): BalancerInstance | undefined {
    return this.selectOrFallBack();
  }

  /**
   * A fault in the bookkeeping (a throwing `now` or `random`, a metric) is counted and never fails the attempt while
   * an instance exists; the in-flight count goes up exactly when an attempt is returned.
   */
  start(): BalancerAttempt | undefined {
    return this.startAt(Number.NaN);
  }

  /** {@link start}; `at`: a `performance.now()` reading just taken, or NaN (see {@link startAttemptAt}). */
  startAt(at: number): BalancerAttempt | undefined {
    const record = this.selectOrFallBack();
    if (record === undefined) return undefined;
    record.requests++;
    record.inFlight++;
    try {
      record.series.recordRequest();
      record.series.activeConnections(record.inFlight);
    } catch {
      this.self.internal();
    }
    return new Attempt(this, record, this.sharedClock && !Number.isNaN(at) ? at : this.startTime());
  }

  /** Records an attempt's time to the response head; called at most once per attempt by {@link Attempt}. */
  head(attempt: Attempt, seconds: number): void {
    try {
      attempt.instance.series.observeFirstByte(seconds);
    } catch {
      this.self.internal();
    }
  }

  /** Records an attempt's body sizes; called at most once per attempt by {@link Attempt}. */
  sizes(attempt: Attempt, requestBytes: number | undefined, responseBytes: number | undefined): void {
    try {
      attempt.instance.series.observeBodySizes(requestBytes, responseBytes);
    } catch {
      this.self.internal();
    }
  }

  /**
   * Accounts for the end of an attempt; called once per attempt by {@link Attempt}. A cancelled attempt (the caller
   * gave up) counts as an error but says nothing about the instance: its health, latency and streak stay as they are.
   */
  end(attempt: Attempt, error: unknown, success: boolean, at: number): void {
    const r = attempt.instance;
    r.inFlight = Math.max(0, r.inFlight - 1);
    try {
      // A deregistered instance's gauges are gone; an attempt that was in flight must not bring them back.
      if (!r.removed) r.series.activeConnections(r.inFlight);
      const now = this.sharedClock && !Number.isNaN(at) ? at : this.now();
      // no duration when the clock failed at the start (NaN): it would poison the latency p2c balances on
      const timed = !Number.isNaN(now - attempt.startedAt);
      const ms = Math.max(0, now - attempt.startedAt);
      if (timed) r.series.observeDuration(ms / 1000, attempt.traceId);
      if (!success) {
        r.failures++;
        this.lb.recordError(this.service, error);
        if (classifyError(error) === 'cancelled') return;
      }
      if (timed) r.latency.observe(ms, now);
      r.healthScore = nextHealthScore(r.healthScore, success);
      if (!r.removed) r.series.healthScore(r.healthScore);
      if (success) this.outlier.onSuccess(r.outlier);
      else if (!r.removed && this.outlier.onFailure(r.outlier, now, this.records.size, this.ejectedCount)) {
        this.ejected(r, now, 'consecutive_failures');
      }
      this.checkSuccessRates(now);
    } catch {
      this.self.internal();
    }
  }

  register(url: string): boolean {
    try {
      const origin = instanceOrigin(url);
      if (origin === undefined) return this.refuse('invalid_url');
      if (this.records.has(origin)) return this.refuse('duplicate');
      const series = new InstanceSeries(this.lb, this.service, origin, this.strategy);
      const record = new InstanceRecord(String(url), origin, this.latencyDecayMs, series);
      this.records.set(origin, record);
      this.available.push(record);
      this.mesh.recordRegistration(this.service);
      this.lb.updateHealthScore(this.service, origin, record.healthScore);
      this.lb.updateActiveConnections(this.service, origin, 0);
      this.ejections.recordReturn(this.service, origin);
      this.mesh.updateHealthyInstances(this.service, this.available.length);
      return true;
    } catch {
      this.self.internal();
      return false;
    }
  }

  deregister(url: string): boolean {
    try {
      const origin = instanceOrigin(url);
      const record = origin === undefined ? undefined : this.records.get(origin);
      if (record === undefined) return false;
      this.records.delete(record.origin);
      record.removed = true;
      clearTimeout(record.timer);
      if (record.ejected) this.ejectedCount--;
      // Its gauges leave the exposition (they would otherwise pile up with discovery churn); counters stay.
      this.lb.activeConnections.remove(this.service, record.origin);
      this.lb.instanceHealthScore.remove(this.service, record.origin);
      this.ejections.forget(this.service, record.origin);
      this.rebuild();
      return true;
    } catch {
      this.self.internal();
      return false;
    }
  }

  instances(): InstanceSnapshot[] {
    try {
      this.release();
      const now = this.now();
      return [...this.records.values()].map((r) => r.snapshot(now));
    } catch {
      this.self.internal();
      return [];
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const r of this.records.values()) {
      clearTimeout(r.timer);
      r.timer = undefined;
    }
  }

  /** The clock's reading for an attempt's start; NaN (no duration will be observed) when the clock throws. */
  private startTime(): number {
    try {
      return this.now();
    } catch {
      this.self.internal();
      return Number.NaN;
    }
  }

  /** {@link select}; after a fault (counted), the first instance not ejected, or else the first registered. */
  private selectOrFallBack(): InstanceRecord | undefined {
    try {
      return this.select();
    } catch {
      this.self.internal();
    }
    let first: InstanceRecord | undefined;
    for (const r of this.records.values()) {
      if (!r.ejected) return r;
      first ??= r;
    }
    return first;
  }

  private select(): InstanceRecord | undefined {
    if (this.ejectedCount > 0) this.release();
    const candidates = this.available.length > 0 ? this.available : [...this.records.values()];
    if (candidates.length === 0) return undefined;
    return this.choose(candidates, this.ctx);
  }

  private refuse(errorType: 'invalid_url' | 'duplicate'): false {
    this.mesh.recordRegistrationFailure(this.service, errorType);
    return false;
  }

  /**
   * At the end of a success-rate interval (seen when an attempt ends after it), ejects the instances whose success
   * rate is an outlier, lowest first, while `maxEjectedPercent` allows; then a new interval begins.
   */
  private checkSuccessRates(now: number): void {
    const o = this.outlier.successRate;
    if (o === null || !(now - this.intervalStart >= o.intervalMs)) return;
    this.intervalStart = now;
    const records = [...this.records.values()];
    const candidates = records.filter((r) => !r.ejected).map((r) => ({ r, window: r.outlier.window }));
    for (const { r } of successRateOutliers(o, candidates)) {
      if (!this.outlier.mayEject(this.records.size, this.ejectedCount)) break;
      this.outlier.eject(r.outlier, now);
      this.ejected(r, now, 'success_rate');
    }
    for (const r of records) {
      r.outlier.window.requests = 0;
      r.outlier.window.successes = 0;
    }
  }

  private ejected(record: InstanceRecord, now: number, reason: EjectionReason): void {
    this.ejectedCount++;
    this.ejections.recordEjection(this.service, record.origin, reason);
    this.rebuild();
    const until = record.outlier.ejectedUntil;
    if (this.disposed || until === undefined) return;
    const delay = Math.min(Math.max(0, until - now) + 1, 2 ** 31 - 1);
    record.timer = setTimeout(() => this.timerFired(record), delay);
    record.timer.unref?.();
  }

  private timerFired(record: InstanceRecord): void {
    record.timer = undefined;
    try {
      this.release();
    } catch {
      this.self.internal();
    }
  }

  /** Brings back the instances whose ejection is over. */
  private release(): void {
    if (this.ejectedCount === 0) return;
    const now = this.now();
    let changed = false;
    for (const r of this.records.values()) {
      if (this.outlier.release(r.outlier, now)) {
        this.ejectedCount--;
        if (!r.removed) this.ejections.recordReturn(this.service, r.origin);
        clearTimeout(r.timer);
        r.timer = undefined;
        changed = true;
      }
    }
    if (changed) this.rebuild();
  }

  /** Recomputes the candidates (registration order) and `mesh_healthy_instances`. */
  private rebuild(): void {
    this.available = [...this.records.values()].filter((r) => !r.ejected);
    this.mesh.updateHealthyInstances(this.service, this.available.length);
  }
}

/**
 * For the kit's integrations: {@link Balancer.start} with `at`, a `performance.now()` reading the caller has just
 * taken, so that a balancer on the default clock does not read it again (a reading costs a few hundred instructions,
 * measured under callgrind on Node 24). A balancer with a clock of its own (`now`), or one not made by
 * {@link createBalancer}, reads its own.
 */
export function startAttemptAt(balancer: Balancer, at: number): BalancerAttempt | undefined {
  return balancer instanceof MeshBalancer ? balancer.startAt(at) : balancer.start();
}

/**
 * For the kit's integrations: ends `attempt` as {@link BalancerAttempt.succeed} (`success`) or
 * {@link BalancerAttempt.fail} with `error` would, with `at` as in {@link startAttemptAt}.
 */
export function endAttemptAt(attempt: BalancerAttempt, success: boolean, error: unknown, at: number): void {
  if (attempt instanceof Attempt) attempt.endAt(error, success, at);
  else if (success) attempt.succeed();
  else attempt.fail(error);
}

/**
 * Creates a client-side load balancer for one service. Invalid options throw a `TypeError` naming the value; at run
 * time nothing throws (faults are counted in `mesh_metrics_errors_total{kind="internal"}`).
 */
export function createBalancer(options: BalancerOptions): Balancer {
  return new MeshBalancer(options);
}
