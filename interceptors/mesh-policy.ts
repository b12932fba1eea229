import { createRequire } from 'node:module';
import { classifyError } from '../lib/classify-error.js';
import { isBrokenResponse } from '../lib/failure.js';
import { describeValue, resolveMetricsOptions } from '../lib/options.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import { RetryBudget } from '../lib/retry-budget.js';
import { instrumentPolicyWith, type CallScope } from './instrument-policy.js';
import { resolveMeshOptions, type ResolvedMeshOptions } from './policy-options.js';
import type { InstrumentedPolicy, MeshPolicyOptions } from './policy-types.js';
import type { PolicyLike } from './policy-walk.js';

/** cockatiel's policy builder (`handleWhen(...)`), seen structurally. */
interface PolicyBuilder {
  orWhenResult(predicate: (result: unknown) => boolean): PolicyBuilder;
}

/** The part of the cockatiel module (3 or 4) that `meshPolicy` builds with. */
interface CockatielModule {
  handleWhen(predicate: (error: Error) => boolean): PolicyBuilder;
  retry(builder: PolicyBuilder, options: { maxAttempts: number; backoff: unknown }): PolicyLike;
  circuitBreaker(builder: PolicyBuilder, options: { halfOpenAfter: number; breaker: unknown }): PolicyLike;
  timeout(durationMs: number, options: { strategy: string; abortOnReturn: boolean }): PolicyLike;
  wrap(...policies: PolicyLike[]): PolicyLike;
  noop: PolicyLike;
  ExponentialBackoff: new (options: { initialDelay: number; maxDelay: number }) => unknown;
  ConsecutiveBreaker: new (threshold: number) => unknown;
  TimeoutStrategy: { Aggressive: string };
}

const FUNCTIONS = ['handleWhen', 'retry', 'circuitBreaker', 'timeout', 'wrap', 'ExponentialBackoff', 'ConsecutiveBreaker'];

let loaded: CockatielModule | undefined;

function checkModule(value: unknown): CockatielModule {
  const m = value as Record<string, unknown> | null;
  const missing =
    typeof m !== 'object' || m === null
      ? 'everything'
      : (FUNCTIONS.find((name) => typeof m[name] !== 'function') ??
        (typeof (m.noop as { execute?: unknown } | undefined)?.execute === 'function' ? undefined : 'noop') ??
        (typeof (m.TimeoutStrategy as { Aggressive?: unknown } | undefined)?.Aggressive === 'string'
          ? undefined
          : 'TimeoutStrategy'));
  if (missing !== undefined) {
    throw new TypeError(`cockatiel must be the cockatiel module (3 or 4), got ${describeValue(value)} (missing ${missing})`);
  }
  return value as CockatielModule;
}

/** The installed `cockatiel` package, loaded on first use so that the kit never needs it otherwise. */
function loadCockatiel(): CockatielModule {
  if (loaded !== undefined) return loaded;
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('cockatiel');
  } catch (error) {
    throw new Error(
      'meshPolicy needs the optional peer dependency cockatiel (^3.1 or ^4): install it, or pass the module as ' +
        'options.cockatiel',
      { cause: error },
    );
  }
  return (loaded = checkModule(mod));
}

/**
 * Retry, then breaker, then a per-attempt timeout: each attempt passes the breaker, and a timeout is a failure.
 * `isFailure` runs inside cockatiel's predicates, where a throw would replace the call's own result or error: a
 * throwing `isFailure` is counted as an internal fault and the outcome taken as a failure.
 */
function build(c: CockatielModule, o: ResolvedMeshOptions, self: SelfMetrics, budget: RetryBudget | undefined): PolicyLike {
  const isFailure = o.isFailure;
  const failure = (outcome: unknown): boolean => {
    try {
      // an error carrying a 2xx/3xx (a body cut by a reset) is a failed attempt, retried, whatever isFailure says
      return isBrokenResponse(outcome) || Boolean(isFailure(outcome));
    } catch {
      self.internal();
      return true;
    }
  };
  // An open circuit rejects at once; retrying it would only wait for the same answer.
  let retryable = (error: unknown): boolean => failure(error) && classifyError(error) !== 'circuit_open';
  let retryResult = failure;
  const policies: PolicyLike[] = [];
  if (o.retry !== false) {
    const retries = o.retry.retries;
    if (budget !== undefined) {
      // the budget decides last, once cockatiel would retry: a retry it refuses is not made
      const onError = retryable;
      retryable = (error) => budget.shouldRetry(onError(error), retries);
      retryResult = (result) => budget.shouldRetry(failure(result), retries);
    }
    const backoff = new c.ExponentialBackoff({ initialDelay: o.retry.initialDelayMs, maxDelay: o.retry.maxDelayMs });
    policies.push(c.retry(c.handleWhen(retryable).orWhenResult(retryResult), { maxAttempts: retries, backoff }));
  }
  if (o.circuitBreaker !== false) {
    const breaker = new c.ConsecutiveBreaker(o.circuitBreaker.consecutiveFailures);
    const halfOpenAfter = o.circuitBreaker.halfOpenAfterMs;
    policies.push(c.circuitBreaker(c.handleWhen(failure).orWhenResult(failure), { halfOpenAfter, breaker }));
  }
  if (o.timeoutMs !== undefined) {
    // The timeout limits the attempt until it returns, not what it returned: by default cockatiel (3.1+) aborts the
    // attempt's signal on return, which cuts off a body still streaming (axios `responseType: 'stream'`).
    policies.push(c.timeout(o.timeoutMs, { strategy: c.TimeoutStrategy.Aggressive, abortOnReturn: false }));
  }
  if (policies.length === 0) return c.noop;
  return policies.length === 1 ? (policies[0] as PolicyLike) : c.wrap(...policies);
}

/**
 * Builds an instrumented cockatiel policy for calls to one service: retry with exponential backoff
 * (`retries: 2` means at most 3 attempts; calls rejected by an open circuit are not retried), a consecutive-failure
 * circuit breaker shared by every `forOperation` sibling, and an optional per-attempt timeout. Everything
 * {@link instrumentPolicy} records is recorded. Throws a `TypeError` naming a bad option.
 */
export function meshPolicy(options: MeshPolicyOptions): InstrumentedPolicy {
  const resolved = resolveMeshOptions(options);
  const metrics = resolveMetricsOptions(options);
  const self = new SelfMetrics(metrics);
  const c = options.cockatiel === undefined ? loadCockatiel() : checkModule(options.cockatiel);
  if (resolved.retryBudget !== null && resolved.retry === false) {
    throw new TypeError('retryBudget needs retry: a policy without retries has no retries to budget');
  }
  const budget = resolved.retryBudget === null ? undefined : new RetryBudget(resolved.retryBudget, resolved.service, metrics);
  const scope: CallScope | undefined = budget === undefined ? undefined : budget;
  return instrumentPolicyWith(build(c, resolved, self, budget), options, scope);
}
