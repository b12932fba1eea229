import promClient from 'prom-client';
import type { Registry, RegistryContentType } from 'prom-client';
import {
  resolveNativeHistogramOptions,
  type NativeHistogramOptions,
  type ResolvedNativeHistogramOptions,
} from './native-histogram.js';

/** Options that every metric set and factory of the kit accepts. */
export interface MetricsOptions {
  /**
   * The prom-client registry the families are registered in.
   * @defaultValue prom-client's global `register`, so the application's own metrics and ours share one `/metrics`
   */
  readonly registry?: Registry<RegistryContentType>;
  /**
   * Prefix of every family name; must match `[a-zA-Z_][a-zA-Z0-9_]*`.
   * @defaultValue `"mesh_"`
   */
  readonly prefix?: string;
  /**
   * Histogram bucket upper bounds in seconds, finite and strictly increasing.
   * @defaultValue OpenTelemetry's HTTP boundaries, {@link DEFAULT_BUCKETS}
   */
  readonly buckets?: readonly number[];
  /**
   * The most series one family may hold, the overflow series included.
   * @defaultValue 2000
   */
  readonly maxSeries?: number;
  /**
   * Label values longer than this many UTF-16 code units are cut.
   * @defaultValue 128
   */
  readonly maxLabelValueLength?: number;
  /**
   * Opt-in Prometheus native histograms for every histogram family made with these options: each series keeps its
   * classic `buckets` (text and OpenMetrics scrapes see only those) and also exponential buckets, which a scrape in
   * the protobuf format receives. `true` takes every default; `false` or `null` is off.
   * @defaultValue off
   */
  readonly nativeHistograms?: NativeHistogramOptions | boolean | null;
}

/** {@link MetricsOptions} with every default applied and every value checked. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly buckets: readonly number[];
  readonly maxSeries: number;
  readonly maxLabelValueLength: number;
  /** `null` when native histograms are off. */
  readonly nativeHistograms: ResolvedNativeHistogramOptions | null;
}

/** OpenTelemetry's default explicit bucket boundaries for HTTP durations, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

export const DEFAULT_PREFIX = 'mesh_';
export const DEFAULT_MAX_SERIES = 2000;
export const DEFAULT_MAX_LABEL_VALUE_LENGTH = 128;

const PREFIX_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'function') return 'a function';
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A printable form of a bad option value, for the TypeErrors thrown at construction. */
export { describe as describeValue };

function isRegistry(value: unknown): value is Registry {
  const r = value as Partial<Registry> | null | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function' &&
    typeof r.metrics === 'function'
  );
}

function checkBuckets(buckets: unknown): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError(`buckets must be a non-empty array of numbers, got ${describe(buckets)}`);
  }
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new TypeError(`buckets[${i}] must be a finite number, got ${describe(b)}`);
    }
    if (i > 0 && b <= (buckets[i - 1] as number)) {
      throw new TypeError(
        `buckets must be strictly increasing: buckets[${i}] = ${b} follows ${describe(buckets[i - 1])}`,
      );
    }
  }
  return Object.freeze([...(buckets as number[])]);
}

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/**
 * Applies the defaults to {@link MetricsOptions} and checks every value, throwing a `TypeError` that names the
 * bad one.
 */
export function resolveMetricsOptions(options: MetricsOptions = {}): ResolvedMetricsOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  // Either content type: families register and render the same way in both.
  const registry = (options.registry ?? promClient.register) as Registry;
  if (!isRegistry(registry)) {
    throw new TypeError(`registry must be a prom-client Registry, got ${describe(options.registry)}`);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(`prefix must match [a-zA-Z_][a-zA-Z0-9_]*, got ${describe(prefix)}`);
  }
  return {
    registry,
    prefix,
    buckets: options.buckets === undefined ? DEFAULT_BUCKETS : checkBuckets(options.buckets),
    maxSeries: checkInteger('maxSeries', options.maxSeries ?? DEFAULT_MAX_SERIES, 2),
    maxLabelValueLength: checkInteger(
      'maxLabelValueLength',
      options.maxLabelValueLength ?? DEFAULT_MAX_LABEL_VALUE_LENGTH,
      1,
    ),
    nativeHistograms: resolveNativeHistogramOptions(options.nativeHistograms),
  };
}
