import { AsyncLocalStorage } from 'node:async_hooks';
import type { CounterFamily } from './counter.js';
import { describeValue, type ResolvedMetricsOptions } from './options.js';
import { counterFamily } from './registration.js';
import { SelfMetrics } from './self-metrics.js';
import { sourcedGaugeFamily } from './sourced-gauge.js';

/**
 * A retry budget with the semantics of Finagle's and Linkerd's: over the last `windowMs`, retries may add at most
 * `ratio` of the calls made, plus a floor of `minRetriesPerSecond` (so that a quiet client can still retry).
 */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per call made in the window (0.2: at most one retry for five calls).
   * @defaultValue 0.2
   */
  readonly ratio?: number;
  /**
   * Retries per second always allowed, whatever the calls: the window holds `minRetriesPerSecond x windowMs / 1000`.
   * @defaultValue 10
   */
  readonly minRetriesPerSecond?: number;
  /**
   * How long a call's deposit and a retry's withdrawal count, in milliseconds.
   * @defaultValue 10000
   */
  readonly windowMs?: number;
}

export interface ResolvedRetryBudgetOptions {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
}

function check(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`retryBudget.${name} must be a number from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** Applies the defaults and checks each value, throwing a `TypeError` naming the bad one; `undefined` or `false`: none. */
export function resolveRetryBudgetOptions(value: unknown): ResolvedRetryBudgetOptions | null {
  if (value === undefined || value === false) return null;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`retryBudget must be an object or false, got ${describeValue(value)}`);
  }
  const o = value as RetryBudgetOptions;
  return Object.freeze({
    ratio: check('ratio', o.ratio ?? 0.2, 0, 1000),
    minRetriesPerSecond: check('minRetriesPerSecond', o.minRetriesPerSecond ?? 10, 0, 1e9),
    windowMs: check('windowMs', o.windowMs ?? 10000, 1, 86_400_000),
  });
}

/** The window is kept as this many slices, each forgotten as a whole when it falls out. */
const SLICES = 10;

/** What the budget knows about one call while its policy runs: how many of its attempts failed so far. */
interface CallState {
  readonly operation: string;
  failures: number;
}

/**
 * One policy's retry budget: every call deposits `ratio`, every retry withdraws 1, over a sliding window of
 * {@link SLICES} slices; `minRetriesPerSecond x window` is always there on top. `mesh_retry_budget_remaining{service}`
 * shows what is left (read at scrape time), `mesh_retry_budget_exhausted_total{service,operation}` counts the
 * retries not made.
 */
export class RetryBudget {
  private readonly calls = new Float64Array(SLICES);
  private readonly retries = new Float64Array(SLICES);
  private slice = 0;
  private sliceStart: number;
  private readonly sliceMs: number;
  private readonly floor: number;
  private readonly scope = new AsyncLocalStorage<CallState>();
  private readonly exhausted: CounterFamily<'service' | 'operation'>;
  private readonly gauge: { dispose(): void };

  constructor(
    private readonly o: ResolvedRetryBudgetOptions,
    private readonly service: string,
    metrics: ResolvedMetricsOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sliceMs = o.windowMs / SLICES;
    this.floor = (o.minRetriesPerSecond * o.windowMs) / 1000;
    this.sliceStart = now();
    const self = new SelfMetrics(metrics);
    this.exhausted = counterFamily(metrics, self, {
      name: 'retry_budget_exhausted_total',
      help: 'Retries not made because the retry budget was spent; the call failed with its last error.',
      labelNames: ['service', 'operation'],
    });
    this.gauge = sourcedGaugeFamily(metrics, self, {
      name: 'retry_budget_remaining',
      help: 'Retries the retry budget still allows now.',
      labelNames: ['service'],
    }).watch(() => [[[this.service], this.remaining()]]);
  }

  /** Takes the budget out of `mesh_retry_budget_remaining`. */
  dispose(): void {
    this.gauge.dispose();
  }

  /** Runs one call inside the budget: it deposits, and its failures are counted for {@link shouldRetry}. */
  run<T>(operation: string, fn: () => T): T {
    this.advance();
    (this.calls[this.slice] as number) += this.o.ratio;
    return this.scope.run({ operation, failures: 0 }, fn);
  }

  /**
   * Asked by the retry policy for each failed attempt it would retry (`handled`), with `maxRetries` the most it makes.
   * The last attempt's failure is not a retry and costs nothing; any other takes one retry from the budget, or, when
   * none is left, is counted as exhausted and not retried.
   */
  shouldRetry(handled: boolean, maxRetries: number): boolean {
    if (!handled) return false;
    const call = this.scope.getStore();
    if (call !== undefined && call.failures++ >= maxRetries) return true;
    this.advance();
    if (this.available() >= 1) {
      (this.retries[this.slice] as number) += 1;
      return true;
    }
    this.exhausted.labels(this.service, call?.operation ?? 'call').inc();
    return false;
  }

  /** Retries the budget allows now (never below 0). */
  remaining(): number {
    this.advance();
    return Math.max(0, Math.floor(this.available()));
  }

  private available(): number {
    let deposits = 0;
    let withdrawals = 0;
    for (let i = 0; i < SLICES; i++) {
      deposits += this.calls[i] as number;
      withdrawals += this.retries[i] as number;
    }
    return deposits + this.floor - withdrawals;
  }

  /** Moves the window on to now, forgetting the slices that fell out of it. */
  private advance(): void {
    const elapsed = this.now() - this.sliceStart;
    if (!(elapsed >= this.sliceMs)) return;
    const steps = Math.min(SLICES, Math.floor(elapsed / this.sliceMs));
    for (let i = 0; i < steps; i++) {
      this.slice = (this.slice + 1) % SLICES;
      this.calls[this.slice] = 0;
      this.retries[this.slice] = 0;
    }
    this.sliceStart += Math.floor(elapsed / this.sliceMs) * this.sliceMs;
  }
}
