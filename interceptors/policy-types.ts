import type { RetryBudgetOptions } from '../lib/retry-budget.js';
import type { MetricsOptions } from '../lib/options.js';

/**
 * A pino-compatible logger: `logger.warn({ ...fields }, 'message')`. pino's own loggers fit, and so does any object
 * with these two methods.
 */
export interface PolicyLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What the function run by an instrumented policy receives. */
export interface PolicyCallContext {
  /** cockatiel's attempt number: 0 for the first attempt, 1 for the first retry, ... (0 when no retry is inside). */
  readonly attempt: number;
  /** Aborted when the caller's signal aborts or a timeout policy inside fires. */
  readonly signal: AbortSignal;
}

/** A cockatiel policy wrapped so that every call through it is measured. */
export interface InstrumentedPolicy {
  /** The `service` label of every family this policy writes. */
  readonly service: string;
  /** The `operation` label of the call and retry families. */
  readonly operation: string;
  /**
   * Runs `fn` under the wrapped policy and records `mesh_calls_total` and `mesh_call_duration_seconds` for the call,
   * plus the retry families when the policy contains a retry. An error (or a result) for which `isFailure` is false
   * counts as a successful call; errors are always rethrown unchanged.
   */
  execute<T>(fn: (context: PolicyCallContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
  /** A sibling with another `operation` label, sharing the policy, its breakers and listeners; cached per name (up to 1000 names). */
  forOperation(operation: string): InstrumentedPolicy;
  /** Removes every listener this policy (and its siblings) added to the circuit breakers. Idempotent. */
  dispose(): void;
}

/** Options shared by {@link instrumentPolicy} and {@link meshPolicy}. */
export interface PolicyMetricsOptions extends MetricsOptions {
  /** The `service` label: the service these calls go to. Required, non-empty. */
  readonly service: string;
  /**
   * The `operation` label of the call and retry families; `forOperation(name)` gives siblings with other names.
   * @defaultValue `"call"`
   */
  readonly operation?: string;
  /**
   * Which outcomes (a thrown error or a returned value) are failed calls. Outcomes for which it returns false are
   * successful calls (and `meshPolicy` neither retries them nor lets them trip the breaker). A call rejected by an
   * open circuit is always a failed call (`error_type="circuit_open"`), and so is a call that rejected with an error
   * carrying a 2xx/3xx status its request accepted (a body cut by a reset: see `isBrokenResponse`).
   * @defaultValue `defaultIsFailure`: outcomes carrying a 5xx status, and errors without a status, are failures;
   * 4xx statuses are successes
   */
  readonly isFailure?: (outcome: unknown) => boolean;
  /**
   * Receives circuit state changes (`warn` when a circuit opens or is isolated, `info` when it half-opens or
   * closes) and give-ups (`warn` when a call under a retry fails).
   * @defaultValue none
   */
  readonly logger?: PolicyLogger;
}

/** Options of {@link instrumentPolicy}. */
export type InstrumentPolicyOptions = PolicyMetricsOptions;

/** The retry of {@link meshPolicy}: exponential backoff with jitter. */
export interface MeshRetryOptions {
  /**
   * Retries after the first attempt: `2` means at most 3 attempts.
   * @defaultValue 2
   */
  readonly retries?: number;
  /**
   * Base of the exponential backoff, in milliseconds.
   * @defaultValue 100
   */
  readonly initialDelayMs?: number;
  /**
   * Longest delay between two attempts, in milliseconds.
   * @defaultValue 5000
   */
  readonly maxDelayMs?: number;
}

/** The circuit breaker of {@link meshPolicy}: opens after consecutive failed attempts. */
export interface MeshCircuitBreakerOptions {
  /**
   * Consecutive failed attempts that open the circuit.
   * @defaultValue 5
   */
  readonly consecutiveFailures?: number;
  /**
   * How long the circuit stays open before one trial call is let through (half-open), in milliseconds.
   * @defaultValue 10000
   */
  readonly halfOpenAfterMs?: number;
}

/** Options of {@link meshPolicy}. */
export interface MeshPolicyOptions extends PolicyMetricsOptions {
  /**
   * Retry with exponential backoff; `false` for none. Calls rejected by an open circuit are not retried.
   * @defaultValue `{ retries: 2, initialDelayMs: 100, maxDelayMs: 5000 }`
   */
  readonly retry?: MeshRetryOptions | false;
  /**
   * Consecutive-failure circuit breaker, shared by every `forOperation` sibling; `false` for none.
   * @defaultValue `{ consecutiveFailures: 5, halfOpenAfterMs: 10000 }`
   */
  readonly circuitBreaker?: MeshCircuitBreakerOptions | false;
  /**
   * Time limit of each attempt, in milliseconds (the attempt fails with cockatiel's `TaskCancelledError`,
   * `error_type="timeout"`, and its signal aborts). It limits the attempt until it returns: the signal is not aborted
   * on return, so a body still streaming (axios `responseType: 'stream'`) is delivered in full.
   * @defaultValue none
   */
  readonly timeoutMs?: number;
  /**
   * A retry budget shared by every call through this policy (and its `forOperation` siblings), with the semantics of
   * Finagle's and Linkerd's: over the last `windowMs`, retries add at most `ratio` of the calls, plus
   * `minRetriesPerSecond`. A retry beyond it is not made and the call fails with its last error, counted in
   * `mesh_retry_budget_exhausted_total{service,operation}`; `mesh_retry_budget_remaining{service}` shows what is left.
   * Needs `retry`. `false` or absent: no budget.
   * @defaultValue none (`{}` gives `{ ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10000 }`)
   */
  readonly retryBudget?: RetryBudgetOptions | false;
  /**
   * The cockatiel module to build with (`import * as cockatiel from 'cockatiel'`), cockatiel 3 or 4.
   * @defaultValue the `cockatiel` package, loaded when `meshPolicy` is first called
   */
  readonly cockatiel?: object;
}
