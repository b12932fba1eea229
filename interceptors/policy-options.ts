import { defaultIsFailure } from '../lib/failure.js';
import { describeValue } from '../lib/options.js';
import { resolveRetryBudgetOptions, type ResolvedRetryBudgetOptions } from '../lib/retry-budget.js';
import type {
  MeshCircuitBreakerOptions,
  MeshPolicyOptions,
  MeshRetryOptions,
  PolicyLogger,
  PolicyMetricsOptions,
} from './policy-types.js';

/** The `operation` label when none is given. */
export const DEFAULT_POLICY_OPERATION = 'call';

export const DEFAULT_RETRY: Readonly<Required<MeshRetryOptions>> = Object.freeze({
  retries: 2,
  initialDelayMs: 100,
  maxDelayMs: 5000,
});

export const DEFAULT_CIRCUIT_BREAKER: Readonly<Required<MeshCircuitBreakerOptions>> = Object.freeze({
  consecutiveFailures: 5,
  halfOpenAfterMs: 10_000,
});

/** {@link PolicyMetricsOptions} checked, with defaults applied (metrics options are checked by the metric sets). */
export interface ResolvedPolicyOptions {
  readonly service: string;
  readonly operation: string;
  readonly isFailure: (outcome: unknown) => boolean;
  readonly logger: PolicyLogger | undefined;
}

export interface ResolvedMeshOptions extends ResolvedPolicyOptions {
  readonly retry: Readonly<Required<MeshRetryOptions>> | false;
  readonly circuitBreaker: Readonly<Required<MeshCircuitBreakerOptions>> | false;
  readonly timeoutMs: number | undefined;
  readonly retryBudget: ResolvedRetryBudgetOptions | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A label name such as `service` or `operation`: a non-empty string. */
export function checkName(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${name} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** An optional pino-compatible logger; throws a `TypeError` naming anything else. */
export function checkLogger(value: unknown): PolicyLogger | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.info !== 'function' || typeof value.warn !== 'function') {
    throw new TypeError(`logger must have info() and warn() methods (pino-compatible), got ${describeValue(value)}`);
  }
  return value as unknown as PolicyLogger;
}

export function resolvePolicyOptions(options: unknown): ResolvedPolicyOptions {
  if (!isObject(options)) throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  const o = options as Partial<PolicyMetricsOptions>;
  const isFailure = o.isFailure ?? defaultIsFailure;
  if (typeof isFailure !== 'function') {
    throw new TypeError(`isFailure must be a function, got ${describeValue(isFailure)}`);
  }
  return {
    service: checkName('service', o.service),
    operation: o.operation === undefined ? DEFAULT_POLICY_OPERATION : checkName('operation', o.operation),
    isFailure,
    logger: checkLogger(o.logger),
  };
}

function checkNumber(name: string, value: unknown, min: number, integer: boolean): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new TypeError(`${name} must be ${integer ? 'an integer' : 'a finite number'} >= ${min}, got ${describeValue(value)}`);
  }
  return value as number;
}

function resolveRetry(value: unknown): ResolvedMeshOptions['retry'] {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_RETRY;
  if (!isObject(value)) throw new TypeError(`retry must be an object or false, got ${describeValue(value)}`);
  const r = value as MeshRetryOptions;
  const retries = checkNumber('retry.retries', r.retries ?? DEFAULT_RETRY.retries, 0, true);
  const initialDelayMs = checkNumber('retry.initialDelayMs', r.initialDelayMs ?? DEFAULT_RETRY.initialDelayMs, 0, false);
  const maxDelayMs = checkNumber('retry.maxDelayMs', r.maxDelayMs ?? Math.max(DEFAULT_RETRY.maxDelayMs, initialDelayMs), 0, false);
  if (maxDelayMs < initialDelayMs) {
    throw new TypeError(`retry.maxDelayMs must be >= retry.initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  }
  return Object.freeze({ retries, initialDelayMs, maxDelayMs });
}

function resolveBreaker(value: unknown): ResolvedMeshOptions['circuitBreaker'] {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_CIRCUIT_BREAKER;
  if (!isObject(value)) throw new TypeError(`circuitBreaker must be an object or false, got ${describeValue(value)}`);
  const b = value as MeshCircuitBreakerOptions;
  return Object.freeze({
    consecutiveFailures: checkNumber(
      'circuitBreaker.consecutiveFailures',
      b.consecutiveFailures ?? DEFAULT_CIRCUIT_BREAKER.consecutiveFailures,
      1,
      true,
    ),
    halfOpenAfterMs: checkNumber(
      'circuitBreaker.halfOpenAfterMs',
      b.halfOpenAfterMs ?? DEFAULT_CIRCUIT_BREAKER.halfOpenAfterMs,
      0,
      false,
    ),
  });
}

function resolveTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = checkNumber('timeoutMs', value, 0, false);
  if (ms === 0) throw new TypeError('timeoutMs must be greater than 0, got 0');
  return ms;
}

/** Checks every option of `meshPolicy` (but `cockatiel` and the metrics options), throwing a `TypeError` naming the bad one. */
export function resolveMeshOptions(options: unknown): ResolvedMeshOptions {
  const base = resolvePolicyOptions(options);
  const o = options as Partial<MeshPolicyOptions>;
  return {
    ...base,
    retry: resolveRetry(o.retry),
    circuitBreaker: resolveBreaker(o.circuitBreaker),
    timeoutMs: resolveTimeout(o.timeoutMs),
    retryBudget: resolveRetryBudgetOptions(o.retryBudget),
  };
}
