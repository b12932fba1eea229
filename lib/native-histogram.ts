/*
 * Prometheus native (sparse, exponential) histograms. With schema `s`, bucket boundaries are the powers of
 * `base = 2^(2^-s)`, and bucket `i` holds the observations `v` with `base^(i-1) < |v| <= base^i`; observations with
 * `|v| <= zeroThreshold` go to the zero bucket. A bucket is found from the observation's binary exponent and
 * mantissa against exactly worked-out boundaries (no logarithm, so a power of two, or a value next to any boundary,
 * lands in the bucket the definition gives). When a histogram would hold more
 * than `maxBuckets` buckets it lowers its resolution (schema - 1 merges each pair of neighbouring buckets), as
 * Prometheus' own clients do, instead of growing without bound.
 */
import { describeValue } from './options.js';

/** Opt-in native histograms for every histogram family of a metric set or factory. */
export interface NativeHistogramOptions {
  /**
   * Starting resolution, -4 to 8: each power of two is split into 2^schema buckets. Schema 3 gives boundaries
   * 9.05% apart, so a quantile estimate is within about 4.3% of the true value (half a bucket) in the middle of a
   * bucket, and never further than one bucket's width.
   * @defaultValue 3
   */
  readonly schema?: number;
  /**
   * Most buckets (positive and negative together) one series may hold; past it the series halves its resolution
   * (schema - 1), down to schema -4.
   * @defaultValue 160
   */
  readonly maxBuckets?: number;
  /**
   * Observations whose absolute value is at most this go to the zero bucket.
   * @defaultValue 2^-128 (what Prometheus' Go client uses; above 0, which Prometheus 2.x needs to read a series
   * without observations yet as native)
   */
  readonly zeroThreshold?: number;
}

/** {@link NativeHistogramOptions} with defaults applied and values checked. */
export interface ResolvedNativeHistogramOptions {
  readonly schema: number;
  readonly maxBuckets: number;
  readonly zeroThreshold: number;
}

export const DEFAULT_NATIVE_SCHEMA = 3;
export const DEFAULT_NATIVE_MAX_BUCKETS = 160;
export const DEFAULT_NATIVE_ZERO_THRESHOLD = 2 ** -128;
/** The schemas Prometheus accepts. */
export const MIN_NATIVE_SCHEMA = -4;
export const MAX_NATIVE_SCHEMA = 8;

/**
 * Checks the `nativeHistograms` option: `undefined`, `null` or `false` is off (`null`), `true` or an object is on.
 * Throws a `TypeError` naming a bad value.
 */
export function resolveNativeHistogramOptions(value: unknown): ResolvedNativeHistogramOptions | null {
  if (value === undefined || value === null || value === false) return null;
  if (value === true) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`nativeHistograms must be an object (or a boolean), got ${describeValue(value)}`);
  }
  const o = value as NativeHistogramOptions;
  const schema = o.schema ?? DEFAULT_NATIVE_SCHEMA;
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < MIN_NATIVE_SCHEMA || schema > MAX_NATIVE_SCHEMA) {
    throw new TypeError(`nativeHistograms.schema must be an integer from -4 to 8, got ${describeValue(o.schema)}`);
  }
  const maxBuckets = o.maxBuckets ?? DEFAULT_NATIVE_MAX_BUCKETS;
  if (typeof maxBuckets !== 'number' || !Number.isInteger(maxBuckets) || maxBuckets < 1) {
    throw new TypeError(`nativeHistograms.maxBuckets must be an integer >= 1, got ${describeValue(o.maxBuckets)}`);
  }
  const zeroThreshold = o.zeroThreshold ?? DEFAULT_NATIVE_ZERO_THRESHOLD;
  if (typeof zeroThreshold !== 'number' || !Number.isFinite(zeroThreshold) || zeroThreshold < 0) {
    throw new TypeError(
      `nativeHistograms.zeroThreshold must be a finite number >= 0, got ${describeValue(o.zeroThreshold)}`,
    );
  }
  // the boundaries of this schema and the lower ones it may drop to, made now rather than on a first observation
  for (let s = schema; s > 0; s--) if (BOUNDS[s] === undefined) boundsOf(s);
  return Object.freeze({ schema, maxBuckets, zeroThreshold });
}

/** Whether two resolved settings are the same (a family registered twice must agree). */
export function sameNativeOptions(
  a: ResolvedNativeHistogramOptions | null,
  b: ResolvedNativeHistogramOptions | null,
): boolean {
  if (a === null || b === null) return a === b;
  return a.schema === b.schema && a.maxBuckets === b.maxBuckets && a.zeroThreshold === b.zeroThreshold;
}

/**
 * The largest double below `2^(j/n - 1)` (for j > 0 the true value is irrational, so no double equals it): with it,
 * `frac <= bound` holds exactly when `frac` is at most the true boundary, so every value lands in the bucket the
 * definition gives, also next to a boundary, where `**` can be an ulp off either way (and where the 16-digit table of
 * Prometheus' Go client is too). Found from `**`'s estimate by exact integer comparisons: `(m · 2^-53)^n` against
 * `2^(j - n)`.
 */
function exactBound(j: number, n: number): number {
  if (j === 0) return 0.5;
  let m = BigInt(Math.round(2 ** (j / n - 1) * 2 ** 53)); // the bound is m · 2^-53, m in [2^52, 2^53)
  const target = 1n << BigInt(j - n + 53 * n);
  const power = BigInt(n);
  while ((m + 1n) ** power < target) m += 1n;
  while (m ** power >= target) m -= 1n;
  return Number(m) / 2 ** 53;
}

/**
 * `[0.5, 1)` mantissa boundaries of each positive schema, `bounds[s][j] = 2^(j / 2^s - 1)`, made when options naming
 * the schema are resolved (or on first use).
 */
const BOUNDS: (Float64Array | undefined)[] = [];

function boundsOf(schema: number): Float64Array {
  const n = 2 ** schema;
  const b = new Float64Array(n);
  for (let j = 0; j < n; j++) b[j] = exactBound(j, n);
  BOUNDS[schema] = b;
  return b;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the word holding the sign and exponent. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The bucket index of a finite, non-zero value's absolute value at this schema: `base^(i-1) < |v| <= base^i`.
 */
export function nativeBucketIndex(value: number, schema: number): number {
  F64[0] = value;
  let bits = (U32[HI] as number) >>> 20 & 0x7ff;
  let shift = 0;
  if (bits === 0) {
    // subnormal: scale into the normal range first
    F64[0] = value * 2 ** 64;
    bits = (U32[HI] as number) >>> 20 & 0x7ff;
    shift = 64;
  }
  // |v| = frac * 2^exp with frac in [0.5, 1), as C's frexp gives
  const exp = bits - 1022 - shift;
  U32[HI] = ((U32[HI] as number) & 0x000fffff) | (1022 << 20);
  const frac = F64[0] as number;
  if (schema > 0) {
    const bounds = BOUNDS[schema] ?? boundsOf(schema);
    // first j with bounds[j] >= frac
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) < frac) lo = mid + 1;
      else hi = mid;
    }
    return lo + (exp - 1) * bounds.length;
  }
  const key = frac === 0.5 ? exp - 1 : exp;
  const div = -schema;
  return (key + (1 << div) - 1) >> div;
}

/** The upper bound of bucket `index` at `schema`: `2^(index * 2^-schema)`. */
export function nativeBucketUpperBound(index: number, schema: number): number {
  return 2 ** (index * 2 ** -schema);
}

/** A run of consecutive buckets: `offset` is the gap to the previous span (the first span's start index). */
export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/** One side's buckets in Prometheus' form: spans and the count deltas of every bucket the spans cover. */
export interface SparseBuckets {
  readonly spans: BucketSpan[];
  readonly deltas: number[];
}

function sparse(buckets: Map<number, number>): SparseBuckets {
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  let previousKey = 0;
  let previousCount = 0;
  let length = 0;
  let offset = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as number;
    const count = buckets.get(key) as number;
    if (i === 0 || key !== previousKey + 1) {
      if (i > 0) spans.push({ offset, length });
      offset = i === 0 ? key : key - previousKey - 1;
      length = 0;
    }
    length++;
    deltas.push(count - previousCount);
    previousCount = count;
    previousKey = key;
  }
  if (keys.length > 0) spans.push({ offset, length });
  return { spans, deltas };
}

/** A histogram's buckets as plain data, `[index, count]` pairs at `schema`. */
export interface NativeHistogramSnapshot {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly maxBuckets: number;
  readonly zeroCount: number;
  readonly positive: readonly (readonly [number, number])[];
  readonly negative: readonly (readonly [number, number])[];
}

/** The sparse buckets and zero bucket of one series; the series keeps the sum and count. */
export class NativeHistogram {
  /** The current resolution; only goes down, when the bucket limit is reached. */
  schema: number;
  zeroCount = 0;
  readonly positive = new Map<number, number>();
  readonly negative = new Map<number, number>();

  constructor(readonly options: ResolvedNativeHistogramOptions) {
    this.schema = options.schema;
  }

  get zeroThreshold(): number {
    return this.options.zeroThreshold;
  }

  /** How many buckets (positive and negative) it holds, the zero bucket not included. */
  get bucketCount(): number {
    return this.positive.size + this.negative.size;
  }

  /** Records a finite value (the caller drops NaN and infinities). */
  observe(value: number): void {
    if (value > this.options.zeroThreshold) this.add(this.positive, value);
    else if (value < -this.options.zeroThreshold) this.add(this.negative, value);
    else this.zeroCount += 1;
  }

  /** The positive buckets as spans and deltas. */
  positiveBuckets(): SparseBuckets {
    return sparse(this.positive);
  }

  /** The negative buckets as spans and deltas (bucket `i` holds `-base^i <= v < -base^(i-1)`). */
  negativeBuckets(): SparseBuckets {
    return sparse(this.negative);
  }

  /**
   * Adds the buckets of another histogram of the same family (a `node:cluster` worker's), given at its own schema:
   * each of its buckets goes to the bucket covering it at this histogram's schema (never higher than the other's),
   * and a bucket lying wholly inside this zero bucket goes to the zero bucket.
   */
  merge(other: NativeHistogramSnapshot): void {
    while (this.schema > other.schema) this.halveResolution();
    this.zeroCount += other.zeroCount;
    for (const [side, buckets] of [
      [this.positive, other.positive],
      [this.negative, other.negative],
    ] as const) {
      for (const [index, count] of buckets) {
        if (nativeBucketUpperBound(index, other.schema) <= this.options.zeroThreshold) {
          this.zeroCount += count;
          continue;
        }
        const shift = other.schema - this.schema;
        this.addCount(side, (index + (1 << shift) - 1) >> shift, count);
      }
    }
  }

  /** A plain copy (for a worker to send to the `node:cluster` primary). */
  snapshot(): NativeHistogramSnapshot {
    return {
      schema: this.schema,
      zeroThreshold: this.options.zeroThreshold,
      maxBuckets: this.options.maxBuckets,
      zeroCount: this.zeroCount,
      positive: [...this.positive],
      negative: [...this.negative],
    };
  }

  private add(buckets: Map<number, number>, value: number): void {
    this.addCount(buckets, nativeBucketIndex(value, this.schema), 1);
  }

  private addCount(buckets: Map<number, number>, index: number, count: number): void {
    const existing = buckets.get(index);
    if (existing !== undefined) {
      buckets.set(index, existing + count);
      return;
    }
    buckets.set(index, count);
    while (this.bucketCount > this.options.maxBuckets && this.schema > MIN_NATIVE_SCHEMA) this.halveResolution();
  }

  /** schema - 1: bucket `i` becomes bucket `ceil(i / 2)`, which covers the old `2j - 1` and `2j`. */
  private halveResolution(): void {
    this.schema -= 1;
    for (const buckets of [this.positive, this.negative]) {
      const old = [...buckets];
      buckets.clear();
      for (const [key, count] of old) {
        const merged = (key + 1) >> 1;
        buckets.set(merged, (buckets.get(merged) ?? 0) + count);
      }
    }
  }
}
