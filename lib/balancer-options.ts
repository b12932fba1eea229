import { BALANCER_STRATEGIES, type BalancerStrategy } from './balancer-strategies.js';
import { instanceOrigin } from './instance-origin.js';
import { describeValue, type MetricsOptions } from './options.js';
import { resolveOutlierOptions, type OutlierOptions, type ResolvedOutlierOptions } from './outlier-detector.js';

export interface BalancerOptions extends MetricsOptions {
  /** The service the instances belong to: the `service` label. */
  readonly service: string;
  /**
   * The instances' URLs (`http:` or `https:`); each must be valid and of its own origin.
   * @defaultValue none: `register()` them later
   */
  readonly instances?: readonly string[];
  /**
   * How an instance is chosen among those not ejected.
   * @defaultValue `"round_robin"`
   */
  readonly strategy?: BalancerStrategy;
  /**
   * Outlier detection (consecutive failures eject an instance for a while), or `false` for none.
   * @defaultValue `{ consecutiveFailures: 5, ejectionMs: 30000, maxEjectedPercent: 50 }`
   */
  readonly outlier?: OutlierOptions | false;
  /**
   * Time constant of the peak-EWMA latency that `p2c_ewma` balances on, in milliseconds.
   * @defaultValue 10000
   */
  readonly latencyDecayMs?: number;
  /**
   * A monotonic clock in milliseconds, for ejections, latencies and durations (tests inject their own).
   * @defaultValue `performance.now`
   */
  readonly now?: () => number;
  /**
   * Random numbers in [0, 1) for `random` and `p2c_ewma`.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
}

/** {@link BalancerOptions} checked, with the defaults applied (the metrics options are checked by the metric sets). */
export interface ResolvedBalancerOptions {
  readonly service: string;
  readonly instances: readonly string[];
  readonly strategy: BalancerStrategy;
  readonly outlier: ResolvedOutlierOptions | null;
  readonly latencyDecayMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

function checkFunction<T>(name: string, value: T | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describeValue(value)}`);
  return value;
}

/** The balancer's default clock: `performance.now()`, the clock the kit's integrations time attempts with. */
export const performanceClock = (): number => performance.now();

function checkInstances(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`instances must be an array of URLs, got ${describeValue(value)}`);
  const seen = new Set<string>();
  value.forEach((url: unknown, i) => {
    const origin = instanceOrigin(url);
    if (origin === undefined) {
      throw new TypeError(`instances[${i}] must be an http or https URL, got ${describeValue(url)}`);
    }
    if (seen.has(origin)) throw new TypeError(`instances[${i}] repeats the instance ${origin}`);
    seen.add(origin);
  });
  return value as string[];
}

/** Checks every option of `createBalancer`, throwing a `TypeError` that names the bad value. */
export function resolveBalancerOptions(options: BalancerOptions): ResolvedBalancerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { service, strategy = 'round_robin', latencyDecayMs = 10000 } = options;
  if (typeof service !== 'string' || service === '') {
    throw new TypeError(`service must be a non-empty string, got ${describeValue(service)}`);
  }
  if (!BALANCER_STRATEGIES.includes(strategy)) {
    throw new TypeError(`strategy must be one of ${BALANCER_STRATEGIES.join(', ')}, got ${describeValue(strategy)}`);
  }
  if (typeof latencyDecayMs !== 'number' || !(latencyDecayMs > 0) || latencyDecayMs === Infinity) {
    throw new TypeError(`latencyDecayMs must be a positive number, got ${describeValue(latencyDecayMs)}`);
  }
  return {
    service,
    strategy,
    latencyDecayMs,
    instances: checkInstances(options.instances),
    outlier: resolveOutlierOptions(options.outlier),
    now: checkFunction('now', options.now, performanceClock),
    random: checkFunction('random', options.random, Math.random),
  };
}
