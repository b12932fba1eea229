import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { defaultRegistry } from './client.js';
import {
  resolveNativeHistogramOptions,
  type NativeHistogramOptions,
  type ResolvedNativeHistogramOptions,
} from './native-histogram.js';

/** Options that every metric set and factory of the kit accepts. */
export interface MetricsOptions {
  /**
   * The registry the families are registered in: a `Registry` of prom-client 15 or of `@prometheus-io/client` 0.16.
   * @defaultValue the global `register` of the client the application uses (see the README's "Requirements"), so
   * the application's own metrics and ours share one `/metrics`
   */
  readonly registry?: Registry;
  /**
   * Prefix of every family name; must match `[a-zA-Z_][a-zA-Z0-9_]*`.
   * @defaultValue `"mesh_"`
   */
  readonly prefix?: string;
  /**
   * Histogram bucket upper bounds, finite and strictly increasing: one array for every duration family (seconds), or
   * per kind of family: `duration` (seconds, to the last byte), `firstByte` (seconds, to the response head) and
   * `size` (bytes).
   * @defaultValue OpenTelemetry's HTTP boundaries {@link DEFAULT_BUCKETS} for both durations, {@link DEFAULT_SIZE_BUCKETS} for sizes
   */
  readonly buckets?: readonly number[] | BucketOptions;
  /**
   * Family names: `"mesh"` (the kit's own, with the prefix) or `"otel"`: the HTTP families take OpenTelemetry's HTTP
   * semantic-convention names and attributes as the OpenTelemetry Prometheus exporter writes them (no prefix);
   * families without an OpenTelemetry counterpart keep their names.
   * @defaultValue `"mesh"`
   */
  readonly naming?: Naming;
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

/** Bucket bounds per kind of histogram family; a kind left out keeps its default. */
export interface BucketOptions {
  /** Durations to the last byte, in seconds. @defaultValue {@link DEFAULT_BUCKETS} */
  readonly duration?: readonly number[];
  /** Durations to the response head, in seconds. @defaultValue {@link DEFAULT_BUCKETS} */
  readonly firstByte?: readonly number[];
  /** Body sizes, in bytes. @defaultValue {@link DEFAULT_SIZE_BUCKETS} */
  readonly size?: readonly number[];
}

/** The kinds of histogram family, each with its own buckets. */
export type BucketKind = keyof BucketOptions;

/** How the HTTP families are named: the kit's own names, or OpenTelemetry's. */
export type Naming = 'mesh' | 'otel';

/** {@link MetricsOptions} with every default applied and every value checked. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  readonly prefix: string;
  /** The duration buckets (`buckets.duration`). */
  readonly buckets: readonly number[];
  /** Every kind's buckets. */
  readonly bucketsBy: Readonly<Record<BucketKind, readonly number[]>>;
  readonly naming: Naming;
  readonly maxSeries: number;
  readonly maxLabelValueLength: number;
  /** `null` when native histograms are off. */
  readonly nativeHistograms: ResolvedNativeHistogramOptions | null;
}

/** OpenTelemetry's default explicit bucket boundaries for HTTP durations, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/**
 * The default byte buckets: a power-of-four ladder from 64 B to 64 MiB (64, 256, 1 KiB, 4 KiB, … 16 MiB, 64 MiB).
 */
export const DEFAULT_SIZE_BUCKETS: readonly number[] = Object.freeze(
  Array.from({ length: 11 }, (_, i) => 4 ** (i + 3)),
);

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

function checkBuckets(buckets: unknown, name = 'buckets'): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError(`${name} must be a non-empty array of numbers, got ${describe(buckets)}`);
  }
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new TypeError(`${name}[${i}] must be a finite number, got ${describe(b)}`);
    }
    if (i > 0 && b <= (buckets[i - 1] as number)) {
      throw new TypeError(
        `${name} must be strictly increasing: ${name}[${i}] = ${b} follows ${describe(buckets[i - 1])}`,
      );
    }
  }
  return Object.freeze([...(buckets as number[])]);
}

const BUCKET_KINDS: readonly BucketKind[] = ['duration', 'firstByte', 'size'];

function resolveBuckets(buckets: unknown): Readonly<Record<BucketKind, readonly number[]>> {
  if (buckets === undefined) return { duration: DEFAULT_BUCKETS, firstByte: DEFAULT_BUCKETS, size: DEFAULT_SIZE_BUCKETS };
  if (Array.isArray(buckets)) {
    const durations = checkBuckets(buckets);
    return { duration: durations, firstByte: durations, size: DEFAULT_SIZE_BUCKETS };
  }
  if (typeof buckets !== 'object' || buckets === null) {
    throw new TypeError(`buckets must be an array or { duration, firstByte, size }, got ${describe(buckets)}`);
  }
  const given = buckets as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(BUCKET_KINDS as readonly string[]).includes(key)) {
      throw new TypeError(`buckets.${key} is not a bucket kind (duration, firstByte, size)`);
    }
  }
  const pick = (kind: BucketKind, fallback: readonly number[]): readonly number[] =>
    given[kind] === undefined ? fallback : checkBuckets(given[kind], `buckets.${kind}`);
  return {
    duration: pick('duration', DEFAULT_BUCKETS),
    firstByte: pick('firstByte', DEFAULT_BUCKETS),
    size: pick('size', DEFAULT_SIZE_BUCKETS),
  };
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
  const registry = (options.registry ?? defaultRegistry()) as Registry;
  if (!isRegistry(registry)) {
    throw new TypeError(`registry must be a prom-client or @prometheus-io/client Registry, got ${describe(options.registry)}`);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(`prefix must match [a-zA-Z_][a-zA-Z0-9_]*, got ${describe(prefix)}`);
  }
  const bucketsBy = resolveBuckets(options.buckets);
  const naming = options.naming ?? 'mesh';
  if (naming !== 'mesh' && naming !== 'otel') {
    throw new TypeError(`naming must be "mesh" or "otel", got ${describe(naming)}`);
  }
  return {
    registry,
    prefix,
    buckets: bucketsBy.duration,
    bucketsBy,
    naming,
    maxSeries: checkInteger('maxSeries', options.maxSeries ?? DEFAULT_MAX_SERIES, 2),
    maxLabelValueLength: checkInteger(
      'maxLabelValueLength',
      options.maxLabelValueLength ?? DEFAULT_MAX_LABEL_VALUE_LENGTH,
      1,
    ),
    nativeHistograms: resolveNativeHistogramOptions(options.nativeHistograms),
  };
}
