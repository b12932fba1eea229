import { describeValue } from './options.js';

/**
 * Success-rate outlier detection as Envoy does it: at the end of each interval, the instances that served at least
 * `minimumRequests` attempts in it are compared; when there are at least `minimumHosts` of them, an instance whose
 * success rate is more than `stdevFactor` standard deviations below their mean is ejected (within the detector's
 * `maxEjectedPercent`). With n instances, one outlier is at most (n - 1) / sqrt(n) deviations from the mean (1.15 for
 * three): `stdevFactor` must be below that for it to be ejected.
 */
export interface SuccessRateOptions {
  /**
   * The interval over which success rates are measured, in milliseconds; evaluated when the first attempt after it ends.
   * @defaultValue 10000
   */
  readonly intervalMs?: number;
  /**
   * Attempts an instance must have had in the interval for its success rate to count.
   * @defaultValue 100
   */
  readonly minimumRequests?: number;
  /**
   * Instances with enough attempts needed for any ejection.
   * @defaultValue 5
   */
  readonly minimumHosts?: number;
  /**
   * How many standard deviations below the mean ejects (Envoy's `success_rate_stdev_factor` / 1000).
   * @defaultValue 1.9
   */
  readonly stdevFactor?: number;
}

export interface ResolvedSuccessRateOptions {
  readonly intervalMs: number;
  readonly minimumRequests: number;
  readonly minimumHosts: number;
  readonly stdevFactor: number;
}

/** What success-rate detection counts for one instance in the current interval. */
export interface SuccessRateWindow {
  requests: number;
  successes: number;
}

function check(name: string, value: unknown, min: number, integer: boolean): number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= Number.MAX_SAFE_INTEGER && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new TypeError(`outlier.successRate.${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${describeValue(value)}`);
  }
  return value as number;
}

/** Applies the defaults and checks every value, throwing a `TypeError` naming the bad one; `false` disables. */
export function resolveSuccessRateOptions(options: SuccessRateOptions | false | undefined): ResolvedSuccessRateOptions | null {
  if (options === false) return null;
  const given: unknown = options === undefined ? {} : options;
  if (typeof given !== 'object' || given === null) {
    throw new TypeError(`outlier.successRate must be an object or false, got ${describeValue(given)}`);
  }
  const o = given as SuccessRateOptions;
  const intervalMs = check('intervalMs', o.intervalMs ?? 10000, 1, false);
  return {
    intervalMs,
    minimumRequests: check('minimumRequests', o.minimumRequests ?? 100, 1, true),
    minimumHosts: check('minimumHosts', o.minimumHosts ?? 5, 1, true),
    stdevFactor: check('stdevFactor', o.stdevFactor ?? 1.9, 0, false),
  };
}

/**
 * The windows whose success rate is an outlier, lowest rate first (the caller ejects them while `maxEjectedPercent`
 * allows). Only windows with at least `minimumRequests` attempts are compared, and only when there are
 * `minimumHosts` of them; the standard deviation is the population's, as Envoy computes it.
 */
export function successRateOutliers<T extends { readonly window: SuccessRateWindow }>(
  o: ResolvedSuccessRateOptions,
  candidates: readonly T[],
): T[] {
  const eligible = candidates.filter((c) => c.window.requests >= o.minimumRequests);
  if (eligible.length === 0 || eligible.length < o.minimumHosts) return [];
  const rates = eligible.map((c) => c.window.successes / c.window.requests);
  const mean = rates.reduce((s, r) => s + r, 0) / rates.length;
  const variance = rates.reduce((s, r) => s + (r - mean) ** 2, 0) / rates.length;
  const threshold = mean - o.stdevFactor * Math.sqrt(variance);
  return eligible
    .map((c, i) => ({ c, rate: rates[i] as number }))
    .filter((x) => x.rate < threshold)
    .sort((a, b) => a.rate - b.rate)
    .map((x) => x.c);
}
