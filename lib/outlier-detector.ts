import { describeValue } from './options.js';

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
}

export interface ResolvedOutlierOptions {
  readonly consecutiveFailures: number;
  readonly ejectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedPercent: number;
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
}

export function newOutlierState(): OutlierState {
  return { consecutiveFailures: 0, ejectedUntil: undefined, ejections: 0, level: 0, returnedAt: -Infinity };
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
  };
}

/** Ejects an instance after too many consecutive failures and lets it back in when the ejection ends. */
export class OutlierDetector {
  constructor(private readonly options: ResolvedOutlierOptions | null) {}

  /** A successful attempt: the failure streak ends. */
  onSuccess(state: OutlierState): void {
    state.consecutiveFailures = 0;
  }

  /**
   * A failed attempt; ejects the instance (and returns true) when its streak reaches the threshold and the
   * ejected share stays within `maxEjectedPercent` of `total` instances, `ejected` being those out already.
   */
  onFailure(state: OutlierState, now: number, total: number, ejected: number): boolean {
    state.consecutiveFailures++;
    const o = this.options;
    if (o === null || state.ejectedUntil !== undefined || state.consecutiveFailures < o.consecutiveFailures) {
      return false;
    }
    if ((ejected + 1) * 100 > o.maxEjectedPercent * total) return false;
    const worn = o.ejectionMs > 0 ? Math.floor((now - state.returnedAt) / o.ejectionMs) : 0;
    state.level = Math.max(0, state.level - worn) + 1;
    state.ejectedUntil = now + Math.min(o.ejectionMs * state.level, o.maxEjectionMs);
    state.ejections++;
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
