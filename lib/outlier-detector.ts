import { describeValue } from './options.js';
import {
  resolveSuccessRateOptions,
  type ResolvedSuccessRateOptions,
  type SuccessRateOptions,
  type SuccessRateWindow,
} from './success-rate.js';

export type { SuccessRateOptions } from './success-rate.js';

/** Outlier detection as Envoy does it for consecutive failures. */
export interface OutlierOptions {
  /**
   * Consecutive failed attempts that eject an instance.
   * @defaultValue 5
   */
  readonly consecutiveFailures?: number;
  /**
   * How long the first ejection lasts, in milliseconds; the n-th ejection in a row lasts n times as long.
   * @defaultValue 30000
   */
  readonly ejectionMs?: number;
  /**
   * The longest an ejection lasts, in milliseconds.
   * @defaultValue 300000, or `ejectionMs` when that is longer
   */
  readonly maxEjectionMs?: number;
  /**
   * The most instances ejected at once, as a percentage of the registered instances: an ejection that would take
   * the ejected share above it does not happen (with 50, one of two instances may be out, a lone instance never).
   * @defaultValue 50
   */
  readonly maxEjectedPercent?: number;
  /**
   * Success-rate ejection (Envoy's): an instance whose success rate over the last interval is more than `stdevFactor`
   * standard deviations below the mean of the instances with `minimumRequests` attempts; `false` for none.
   * @defaultValue `{ intervalMs: 10000, minimumRequests: 100, minimumHosts: 5, stdevFactor: 1.9 }`
   */
  readonly successRate?: SuccessRateOptions | false;
}

export interface ResolvedOutlierOptions {
  readonly consecutiveFailures: number;
  readonly ejectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedPercent: number;
  readonly successRate: ResolvedSuccessRateOptions | null;
}

/** What outlier detection keeps for one instance. */
export interface OutlierState {
  consecutiveFailures: number;
  /** When the current ejection ends (clock milliseconds); `undefined` while not ejected. */
  ejectedUntil: number | undefined;
  /** Ejections so far. */
  ejections: number;
  /** The multiplier of the next ejection minus one, worn down while the instance stays in. */
  level: number;
  /** When the instance last came back from an ejection. */
  returnedAt: number;
  /** Attempts and successes in the current success-rate interval. */
  readonly window: SuccessRateWindow;
}

export function newOutlierState(): OutlierState {
  return {
    consecutiveFailures: 0,
    ejectedUntil: undefined,
    ejections: 0,
    level: 0,
    returnedAt: -Infinity,
    window: { requests: 0, successes: 0 },
  };
}

function checkNumber(name: string, value: unknown, min: number, max: number, integer: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? 'an integer' : 'a number';
    throw new TypeError(`${name} must be ${kind} from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Applies the defaults and checks every value, throwing a `TypeError` naming the bad one; `false` disables, and
 * anything but `undefined`, `false` or an object (`null` included) is refused.
 */
export function resolveOutlierOptions(options: OutlierOptions | false | undefined): ResolvedOutlierOptions | null {
  if (options === false) return null;
  const given: unknown = options === undefined ? {} : options;
  if (typeof given !== 'object' || given === null) {
    throw new TypeError(`outlier must be an object or false, got ${describeValue(given)}`);
  }
  const o = given as OutlierOptions;
  const max = Number.MAX_SAFE_INTEGER;
  const ejectionMs = checkNumber('outlier.ejectionMs', o.ejectionMs ?? 30000, 0, max, false);
  return {
    consecutiveFailures: checkNumber('outlier.consecutiveFailures', o.consecutiveFailures ?? 5, 1, max, true),
    ejectionMs,
    maxEjectionMs: checkNumber('outlier.maxEjectionMs', o.maxEjectionMs ?? Math.max(300000, ejectionMs), ejectionMs, max, false),
    maxEjectedPercent: checkNumber('outlier.maxEjectedPercent', o.maxEjectedPercent ?? 50, 0, 100, false),
    successRate: resolveSuccessRateOptions(o.successRate),
  };
}

/**
 * Ejects an instance after too many consecutive failures, or for a success rate far below its peers', and lets it
 * back in when the ejection ends.
 */
export class OutlierDetector {
  constructor(private readonly options: ResolvedOutlierOptions | null) {}

  /** The success-rate options, `null` when that detection is off. */
  get successRate(): ResolvedSuccessRateOptions | null {
    return this.options?.successRate ?? null;
  }

  /** A successful attempt: the failure streak ends. */
  onSuccess(state: OutlierState): void {
    state.consecutiveFailures = 0;
    state.window.requests++;
    state.window.successes++;
  }

  /** Whether one more ejection keeps the ejected share within `maxEjectedPercent` of `total` instances. */
  mayEject(total: number, ejected: number): boolean {
    const o = this.options;
    return o !== null && (ejected + 1) * 100 <= o.maxEjectedPercent * total;
  }

  /** Ejects the instance now (for `ejectionMs` times its level, at most `maxEjectionMs`). */
  eject(state: OutlierState, now: number): void {
    const o = this.options;
    if (o === null || state.ejectedUntil !== undefined) return;
    const worn = o.ejectionMs > 0 ? Math.floor((now - state.returnedAt) / o.ejectionMs) : 0;
    state.level = Math.max(0, state.level - worn) + 1;
    state.ejectedUntil = now + Math.min(o.ejectionMs * state.level, o.maxEjectionMs);
    state.ejections++;
  }

  /**
   * A failed attempt; ejects the instance (and returns true) when its streak reaches the threshold and the
   * ejected share stays within `maxEjectedPercent` of `total` instances, `ejected` being those out already.
   */
  onFailure(state: OutlierState, now: number, total: number, ejected: number): boolean {
    state.consecutiveFailures++;
    state.window.requests++;
    const o = this.options;
    if (o === null || state.ejectedUntil !== undefined || state.consecutiveFailures < o.consecutiveFailures) {
      return false;
    }
    if (!this.mayEject(total, ejected)) return false;
    this.eject(state, now);
    return true;
  }

  /** Ends the ejection if its time is up; returns true when the instance came back. */
  release(state: OutlierState, now: number): boolean {
    const until = state.ejectedUntil;
    if (until === undefined || now < until) return false;
    state.ejectedUntil = undefined;
    state.consecutiveFailures = 0;
    state.returnedAt = until;
    return true;
  }
}
