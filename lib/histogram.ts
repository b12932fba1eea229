import {
  Family,
  isLabelObject,
  isValueData,
  type FamilyConfig,
  type FaultSink,
  type LabelValues,
  type MetricValue,
  type ValueData,
} from './family.js';
import { NativeHistogram, type ResolvedNativeHistogramOptions } from './native-histogram.js';

/** An OpenMetrics exemplar attached to the bucket an observation fell in. */
export interface Exemplar {
  readonly labelSet: Readonly<Record<string, string>>;
  readonly value: number;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

/**
 * One histogram series. `counts[i]` holds the observations that fell in bucket `i` alone (not cumulative); the
 * `+Inf` bucket is `count` minus their sum. Negative, NaN and infinite observations are dropped and counted.
 */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** The latest exemplar per bucket, the `+Inf` bucket last; allocated on the first exemplar. */
  exemplars: (Exemplar | undefined)[] | undefined;
  /** The exponential buckets, when the family has native histograms on. */
  readonly native: NativeHistogram | undefined;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    readonly bounds: readonly number[],
    private readonly faults: FaultSink,
    native: ResolvedNativeHistogramOptions | null = null,
  ) {
    this.counts = new Float64Array(bounds.length);
    this.native = native === null ? undefined : new NativeHistogram(native);
  }

  /** Records one observation; returns the bucket index it fell in (`bounds.length` for `+Inf`), or -1 if dropped. */
  observe(value: number): number {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      this.faults.invalidValue();
      return -1;
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) this.counts[i]! += 1;
    this.native?.observe(value);
    this.sum += value;
    this.count += 1;
    return i;
  }

  /** Starts a timer; calling the returned function observes the seconds elapsed and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }

  /** Records one observation with an exemplar for its bucket. */
  observeWithExemplar(value: number, labelSet: Readonly<Record<string, string>>): void {
    const i = this.observe(value);
    if (i < 0) return;
    this.exemplars ??= new Array<Exemplar | undefined>(this.bounds.length + 1);
    this.exemplars[i] = { labelSet, value, timestamp: Date.now() / 1000 };
  }
}

export interface HistogramConfig<L extends string> extends FamilyConfig<L> {
  readonly buckets: readonly number[];
  /** Native histogram settings, or `null` (the default) for classic buckets only. */
  readonly nativeHistograms?: ResolvedNativeHistogramOptions | null;
}

/** A histogram family with the kit's label guard and cardinality cap; buckets in seconds. */
export class HistogramFamily<L extends string = string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  /** Native histogram settings, `null` when off. */
  readonly nativeHistograms: ResolvedNativeHistogramOptions | null;

  constructor(config: HistogramConfig<L>) {
    super(config);
    this.buckets = config.buckets;
    this.nativeHistograms = config.nativeHistograms ?? null;
  }

  /** prom-client's `histogram.observe(labels, v)` / `histogram.observe(v)`, in seconds. Never throws. */
  observe(labels: LabelValues<L>, value: number): void;
  observe(value: number): void;
  observe(data: ValueData<L>): void;
  observe(labels: LabelValues<L> | ValueData<L> | number, value?: number): void {
    if (!isLabelObject(labels)) {
      this.labels().observe(labels as number);
    } else if (value === undefined && isValueData(labels)) {
      const data = labels as ValueData<L>;
      this.withLabels(data.labels ?? {}).observe(data.value as number);
    } else {
      this.withLabels(labels as LabelValues<L>).observe(value as number);
    }
  }

  /**
   * prom-client's `histogram.startTimer(labels?)`: the returned function observes the seconds elapsed, with the
   * labels given at the start and at the end merged, and returns them.
   */
  startTimer(labels?: LabelValues<L>): (endLabels?: LabelValues<L>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      this.withLabels({ ...labels, ...endLabels } as LabelValues<L>).observe(seconds);
      return seconds;
    };
  }

  protected createSeries(labels: Readonly<Record<string, string>>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets, this.faults, this.nativeHistograms);
  }

  protected collectSeries(series: HistogramSeries, into: MetricValue[]): void {
    const bucketName = `${this.fullName}_bucket`;
    let cumulative = 0;
    const n = this.buckets.length;
    for (let i = 0; i <= n; i++) {
      cumulative = i < n ? cumulative + (series.counts[i] as number) : series.count;
      const value: MetricValue = {
        value: cumulative,
        labels: { ...series.labels, le: i < n ? (this.buckets[i] as number) : '+Inf' },
        metricName: bucketName,
      };
      const exemplar = series.exemplars?.[i];
      if (exemplar !== undefined) value.exemplar = { ...exemplar, labelSet: { ...exemplar.labelSet } };
      into.push(value);
    }
    into.push({ value: series.sum, labels: series.labels, metricName: `${this.fullName}_sum` });
    into.push({ value: series.count, labels: series.labels, metricName: `${this.fullName}_count` });
  }
}
