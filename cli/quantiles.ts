import { parseSampleValue, type Sample } from './parse-exposition.js';

/** One cumulative histogram bucket: observations `<= le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The `q` quantile (0..1) of a histogram given by cumulative buckets, computed as Prometheus's `histogram_quantile`
 * does: find the bucket holding the rank `q × total`, interpolate linearly inside it (the first bucket starts at 0),
 * and answer the highest finite bound when the rank falls in `+Inf`. `null` when there are no observations or no
 * `+Inf` bucket.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | null {
  if (!(q >= 0 && q <= 1)) return null;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (last === undefined || last.le !== Infinity || sorted.length < 2) return null;
  // Cumulative counts can dip when buckets are scraped mid-update; keep them monotonic as Prometheus does.
  let running = 0;
  const counts = sorted.map((b) => (running = Math.max(running, b.count)));
  const total = counts[counts.length - 1] as number;
  if (total <= 0) return null;
  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i < 0) i = counts.length - 1;
  if (i === sorted.length - 1) return (sorted[sorted.length - 2] as Bucket).le;
  const upper = (sorted[i] as Bucket).le;
  if (i === 0 && upper <= 0) return upper;
  const lower = i === 0 ? 0 : (sorted[i - 1] as Bucket).le;
  const below = i === 0 ? 0 : (counts[i - 1] as number);
  const inBucket = (counts[i] as number) - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/**
 * Sums the `_bucket` samples of one histogram by `le` over every sample `match` accepts (for example all operations
 * of one service), giving the buckets of the aggregate.
 */
export function sumBuckets(samples: readonly Sample[], bucketName: string, match: (s: Sample) => boolean): Bucket[] {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== bucketName || s.labels.le === undefined || !match(s)) continue;
    const le = parseSampleValue(s.labels.le);
    if (le === undefined || Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count }));
}

/** p50, p95 and p99 in seconds (`null` when there were no observations). */
export interface LatencyQuantiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export function latencyQuantiles(buckets: readonly Bucket[]): LatencyQuantiles {
  return {
    p50: histogramQuantile(0.5, buckets),
    p95: histogramQuantile(0.95, buckets),
    p99: histogramQuantile(0.99, buckets),
  };
}
