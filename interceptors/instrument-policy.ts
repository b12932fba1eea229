import { resolveMetricsOptions, describeValue, type ResolvedMetricsOptions } from '../lib/options.js';
import { RetryMetrics } from '../lib/retry-metrics.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { classifyError } from '../lib/classify-error.js';
import { isBrokenResponse } from '../lib/failure.js';
import { exemplarTraceReader, type TraceIdReader } from '../lib/trace-context.js';
import { BreakerWatch } from './breaker-watch.js';
import { checkName, resolvePolicyOptions, type ResolvedPolicyOptions } from './policy-options.js';
import type { InstrumentPolicyOptions, InstrumentedPolicy, PolicyCallContext } from './policy-types.js';
import {
  circuitBreakersIn,
  flattenPolicy,
  isPolicyLike,
  runChain,
  type AttemptSink,
  type ChainLink,
  type PolicyContextLike,
  type PolicyLike,
} from './policy-walk.js';

const INSTRUMENTED = Symbol.for('mesh-metrics.instrumented-policy');

let neverAborted: AbortSignal | undefined;

/** The most `forOperation` siblings kept per policy; further names get a fresh (uncached) sibling each time. */
const MAX_CACHED_OPERATIONS = 1000;

/** What every sibling of one instrumented policy shares: the chain, the metric sets and the breaker listeners. */
interface PolicyCore extends ResolvedPolicyOptions {
  readonly chain: readonly ChainLink[];
  readonly hasRetry: boolean;
  readonly metricsOptions: ResolvedMetricsOptions;
  readonly calls: ServiceMeshMetrics;
  readonly self: SelfMetrics;
  readonly watch: BreakerWatch;
  readonly siblings: Map<string, Instrumented>;
  /** Reads the active span's trace id for exemplars; only for an OpenMetrics registry. */
  readonly traceOf: TraceIdReader | undefined;
  retries: RetryMetrics | undefined;
  /** Runs each call inside a scope of the policy's own (meshPolicy's retry budget). */
  readonly scope: CallScope | undefined;
}

/** Something each call of a policy runs inside (see `instrumentPolicyWith`). */
export interface CallScope {
  run<T>(operation: string, fn: () => T): T;
  dispose(): void;
}

function retryMetrics(core: PolicyCore): RetryMetrics {
  return (core.retries ??= new RetryMetrics(core.metricsOptions));
}

/**
 * Whether a call's outcome is a failure: `isFailure` decides, but a call an open circuit rejected always failed, and
 * so did one that rejected with an error carrying a 2xx/3xx status (a body cut by a reset).
 */
function failed(core: PolicyCore, outcome: unknown, thrown: boolean): boolean {
  try {
    if (thrown && (isBrokenResponse(outcome) || classifyError(outcome) === 'circuit_open')) return true;
    return Boolean(core.isFailure(outcome));
  } catch {
    core.self.internal();
    return true;
  }
}

/** One call: its start, its attempts, and the retries it made, counted as cockatiel hands over attempt numbers. */
class CallRecord implements AttemptSink {
  private readonly start = performance.now();
  private attempts = 1;
  private retried = false;
  private lastSignal: AbortSignal | undefined;
  private readonly traceId: string | undefined;

  constructor(
    private readonly core: PolicyCore,
    private readonly operation: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.traceId = core.traceOf?.(undefined);
  }

  attempt(attempt: number): void {
    if (!(attempt >= 1)) return;
    this.retried = true;
    if (attempt + 1 > this.attempts) this.attempts = attempt + 1;
    retryMetrics(this.core).recordAttempt(this.core.service, this.operation, attempt);
  }

  /** The context `fn` receives: cockatiel's own, with `attempt` and `signal` always present. */
  context(context: PolicyContextLike): PolicyCallContext {
    const attempt = typeof context.attempt === 'number' ? context.attempt : 0;
    // A retry hidden inside a policy we cannot see into still shows its attempt number here.
    if (!this.core.hasRetry && attempt >= 1) this.attempt(attempt);
    const signal = (this.lastSignal = context.signal ?? this.signal ?? (neverAborted ??= new AbortController().signal));
    return { ...context, attempt, signal };
  }

  /**
   * What a failure is classified from. Aborts are told apart by whose signal fired: the caller's signal means a
   * cancellation (even when cockatiel's timeout reports it as `TaskCancelledError`); the attempt's signal alone means
   * a timeout policy aborted it (fetch and axios reject with their own abort error, which can win the race against
   * cockatiel's `TaskCancelledError`).
   */
  private failureOf(outcome: unknown): unknown {
    if (this.lastSignal === undefined || !this.lastSignal.aborted) return outcome;
    const type = classifyError(outcome);
    if (type !== 'cancelled' && type !== 'timeout') return outcome;
    return this.signal?.aborted === true ? 'cancelled' : 'timeout';
  }

  finish(ok: boolean, result: unknown): void {
    const { core, operation } = this;
    const outcome = ok ? result : this.failureOf(result);
    const seconds = (performance.now() - this.start) / 1000;
    if (ok) core.calls.recordCallSuccess(core.service, operation, seconds, this.traceId);
    else core.calls.recordCallFailure(core.service, operation, outcome, seconds, this.traceId);
    if (!core.hasRetry && !this.retried) return;
    const retries = retryMetrics(core);
    if (ok) {
      retries.recordSuccess(core.service, operation, this.attempts, seconds);
      return;
    }
    retries.recordFailure(core.service, operation, this.attempts, outcome, seconds);
    this.logGiveUp(outcome);
  }

  private logGiveUp(outcome: unknown): void {
    const { core, operation, attempts } = this;
    if (core.logger === undefined) return;
    try {
      const fields = { service: core.service, operation, attempts, error_type: classifyError(outcome) };
      core.logger.warn(fields, `call to ${core.service} (${operation}) failed after ${attempts} attempt(s)`);
    } catch {
      core.self.internal();
    }
  }
}

class Instrumented implements InstrumentedPolicy {
  readonly [INSTRUMENTED] = true;
  readonly service: string;

  constructor(
    private readonly core: PolicyCore,
    readonly operation: string,
  ) {
    this.service = core.service;
  }

  async execute<T>(fn: (context: PolicyCallContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`execute needs a function, got ${describeValue(fn)}`);
    const core = this.core;
    const record = new CallRecord(core, this.operation, signal);
    let value: unknown;
    try {
      // A signal of its own per call: cockatiel's policies otherwise hang every call's listeners on one shared
      // never-aborted signal, and more than ten calls in flight make Node warn of a listener leak.
      const callSignal = signal ?? new AbortController().signal;
      const run = (): Promise<unknown> => runChain(core.chain, (context) => fn(record.context(context)), callSignal, record);
      value = await (core.scope === undefined ? run() : core.scope.run(this.operation, run));
    } catch (error) {
      record.finish(!failed(core, error, true), error);
      throw error;
    }
    record.finish(!failed(core, value, false), value);
    return value as T;
  }

  forOperation(operation: string): InstrumentedPolicy {
    if (operation === this.operation) return this;
    const siblings = this.core.siblings;
    let sibling = siblings.get(operation);
    if (sibling === undefined) {
      sibling = new Instrumented(this.core, checkName('operation', operation));
      // Operation names computed per request must not grow the cache without end; the labels have their own cap.
      if (siblings.size < MAX_CACHED_OPERATIONS) siblings.set(operation, sibling);
    }
    return sibling;
  }

  dispose(): void {
    this.core.watch.dispose();
    this.core.scope?.dispose();
  }
}

/** Whether `value` is a policy returned by {@link instrumentPolicy} or {@link meshPolicy}. */
export function isInstrumentedPolicy(value: unknown): value is InstrumentedPolicy {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[INSTRUMENTED] === true;
}

/** The number of circuit-breaker listeners an instrumented policy holds (for leak checks); 0 after `dispose()`. */
export function policyListenerCount(policy: InstrumentedPolicy): number {
  return policy instanceof Instrumented ? (policy as unknown as { core: PolicyCore }).core.watch.listenerCount : 0;
}

/**
 * Wraps any cockatiel policy (3 or 4; a single policy or a `wrap(...)` of several) so that every call through
 * `execute` records `mesh_calls_total` and `mesh_call_duration_seconds`, each retry of that call in
 * `mesh_retry_attempts_total{attempt}`, and, when a retry is inside, `mesh_retry_success_total` or
 * `mesh_retry_failure_total` and `mesh_retry_duration_seconds`. Every circuit breaker inside drives
 * `mesh_circuit_breaker_state{service}`. Throws a `TypeError` naming a bad option. The policy itself is not changed.
 */
export function instrumentPolicy(policy: PolicyLike, options: InstrumentPolicyOptions): InstrumentedPolicy {
  return instrumentPolicyWith(policy, options, undefined);
}

/** {@link instrumentPolicy}, each call running inside `scope` (when the policy is not instrumented already). */
export function instrumentPolicyWith(
  policy: PolicyLike,
  options: InstrumentPolicyOptions,
  scope: CallScope | undefined,
): InstrumentedPolicy {
  if (isInstrumentedPolicy(policy)) return reuseInstrumented(policy, options);
  if (!isPolicyLike(policy)) {
    throw new TypeError(`policy must be a cockatiel policy (an object with execute()), got ${describeValue(policy)}`);
  }
  const resolved = resolvePolicyOptions(options);
  const metricsOptions = resolveMetricsOptions(options);
  const chain = flattenPolicy(policy);
  const calls = new ServiceMeshMetrics(metricsOptions);
  const self = new SelfMetrics(metricsOptions);
  const hasRetry = chain.some((l) => l.retry);
  const core: PolicyCore = {
    ...resolved,
    chain,
    hasRetry,
    metricsOptions,
    calls,
    self,
    retries: hasRetry ? new RetryMetrics(metricsOptions) : undefined,
    watch: new BreakerWatch(resolved.service, circuitBreakersIn(chain), calls, self, resolved.logger),
    siblings: new Map(),
    traceOf: exemplarTraceReader(metricsOptions.registry),
    scope,
  };
  const root = new Instrumented(core, resolved.operation);
  core.siblings.set(resolved.operation, root);
  return root;
}

/**
 * An already instrumented policy is not measured twice: its sibling for the requested operation is returned. The
 * options are still checked, and a `registry` or `prefix` given explicitly must be the policy's own (its families
 * live there); a different one would otherwise be ignored without a word.
 */
function reuseInstrumented(policy: InstrumentedPolicy, options: InstrumentPolicyOptions): InstrumentedPolicy {
  const resolved = resolvePolicyOptions({ ...options, operation: options?.operation ?? policy.operation });
  const metrics = resolveMetricsOptions(options);
  if (resolved.service !== policy.service) {
    throw new TypeError(
      `policy is already instrumented for service ${describeValue(policy.service)}, got service ${describeValue(resolved.service)}`,
    );
  }
  const own = policy instanceof Instrumented ? (policy as unknown as { core: PolicyCore }).core.metricsOptions : undefined;
  if (own !== undefined && options.registry !== undefined && metrics.registry !== own.registry) {
    throw new TypeError('policy is already instrumented on another registry, got a different registry');
  }
  if (own !== undefined && options.prefix !== undefined && metrics.prefix !== own.prefix) {
    throw new TypeError(
      `policy is already instrumented with prefix ${describeValue(own.prefix)}, got prefix ${describeValue(metrics.prefix)}`,
    );
  }
  return policy.forOperation(resolved.operation);
}
