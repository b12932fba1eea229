import type { CounterSeries } from './counter.js';
import type { MetricValue } from './family.js';
import type { GaugeSeries } from './gauge.js';
import type { Exemplar, HistogramFamily, HistogramSeries } from './histogram.js';
import { METRIC_TYPE } from './metric-family-proto.js';
import type { NativeHistogram } from './native-histogram.js';

/*
 * Plain objects in the shape of `io.prometheus.client.Metric` (protobufjs encodes them directly): one per series of
 * the kit's families, read straight from the series, and one per label set of any other prom-client metric, grouped
 * from its `get()` values.
 */

type LabelValues = Readonly<Record<string, unknown>>;
interface LabelPair {
  name: string;
  value: string;
}
interface Timestamp {
  seconds: number;
  nanos: number;
}
interface ExemplarMessage {
  label: LabelPair[];
  value: number;
  timestamp?: Timestamp;
}
interface BucketMessage {
  cumulativeCount: number;
  upperBound: number;
  exemplar?: ExemplarMessage;
}
interface HistogramMessage {
  sampleCount: number;
  sampleSum: number;
  bucket: BucketMessage[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpan?: { offset: number; length: number }[];
  negativeDelta?: number[];
  positiveSpan?: { offset: number; length: number }[];
  positiveDelta?: number[];
  exemplars?: ExemplarMessage[];
}
/** One `io.prometheus.client.Metric`. */
export interface MetricMessage {
  label: LabelPair[];
  counter?: { value: number; exemplar?: ExemplarMessage };
  gauge?: { value: number };
  untyped?: { value: number };
  summary?: { sampleCount: number; sampleSum: number; quantile: { quantile: number; value: number }[] };
  histogram?: HistogramMessage;
}

/** The registry's default labels, merged the way prom-client merges them: a series' own label wins. */
export function labelPairs(labels: LabelValues, defaults: LabelValues | null, skip?: string): LabelPair[] {
  const merged = defaults === null ? labels : { ...labels, ...defaults, ...labels };
  const out: LabelPair[] = [];
  for (const name in merged) {
    if (name === skip) continue;
    out.push({ name, value: String(merged[name]) });
  }
  return out;
}

function timestamp(seconds: number): Timestamp {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.min(999_999_999, Math.round((seconds - whole) * 1e9)) };
}

function exemplarMessage(e: { labelSet: LabelValues; value: number; timestamp?: number }): ExemplarMessage {
  const m: ExemplarMessage = { label: labelPairs(e.labelSet, null), value: e.value };
  if (typeof e.timestamp === 'number' && Number.isFinite(e.timestamp)) m.timestamp = timestamp(e.timestamp);
  return m;
}

/** Whether a prom-client exemplar carries something: a numeric value and at least one label. */
function usable(e: MetricValue['exemplar'] | null | undefined): e is NonNullable<MetricValue['exemplar']> {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.value === 'number' &&
    typeof e.labelSet === 'object' &&
    e.labelSet !== null &&
    Object.keys(e.labelSet).length > 0
  );
}

/** The native part of a histogram message; an empty one carries a no-op span so it still reads as native. */
export function addNative(h: HistogramMessage, n: NativeHistogram, exemplars: readonly (Exemplar | undefined)[] | undefined): void {
  h.schema = n.schema;
  h.zeroThreshold = n.zeroThreshold;
  h.zeroCount = n.zeroCount;
  const positive = n.positiveBuckets();
  const negative = n.negativeBuckets();
  if (negative.spans.length > 0) {
    h.negativeSpan = negative.spans;
    h.negativeDelta = negative.deltas;
  }
  if (positive.spans.length > 0) {
    h.positiveSpan = positive.spans;
    h.positiveDelta = positive.deltas;
  } else if (negative.spans.length === 0) {
    h.positiveSpan = [{ offset: 0, length: 0 }];
  }
  if (exemplars !== undefined) {
    const list: ExemplarMessage[] = [];
    for (const e of exemplars) if (e !== undefined) list.push(exemplarMessage(e));
    if (list.length > 0) h.exemplars = list;
  }
}

/** A kit histogram series: classic buckets (the `+Inf` bucket is the count, as readers assume), native when on. */
export function histogramMetric(family: HistogramFamily, s: HistogramSeries, defaults: LabelValues | null): MetricMessage {
  const bucket: BucketMessage[] = [];
  const bounds = family.buckets;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += s.counts[i] as number;
    const b: BucketMessage = { cumulativeCount: cumulative, upperBound: bounds[i] as number };
    const e = s.exemplars?.[i];
    if (e !== undefined) b.exemplar = exemplarMessage(e);
    bucket.push(b);
  }
  const histogram: HistogramMessage = { sampleCount: s.count, sampleSum: s.sum, bucket };
  if (s.native !== undefined) addNative(histogram, s.native, s.exemplars);
  return { label: labelPairs(s.labels, defaults), histogram };
}

export function counterMetric(s: CounterSeries, defaults: LabelValues | null): MetricMessage {
  return { label: labelPairs(s.labels, defaults), counter: { value: s.value } };
}

export function gaugeMetric(s: GaugeSeries, defaults: LabelValues | null): MetricMessage {
  return { label: labelPairs(s.labels, defaults), gauge: { value: s.value } };
}

/** What prom-client's `metric.get()` resolves to. */
export interface PromMetricData {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly MetricValue[];
}

/** The MetricFamily type of a prom-client type name. */
export function metricType(type: string): number {
  switch (type) {
    case 'counter':
      return METRIC_TYPE.COUNTER;
    case 'gauge':
      return METRIC_TYPE.GAUGE;
    case 'histogram':
      return METRIC_TYPE.HISTOGRAM;
    case 'summary':
      return METRIC_TYPE.SUMMARY;
    default:
      return METRIC_TYPE.UNTYPED;
  }
}

function valueLabels(v: MetricValue): LabelValues {
  // @prometheus-io/client leaves `labels` out of a summary's _sum and _count values; prom-client gives {}
  const own = (v.labels as LabelValues | undefined) ?? {};
  const shared = (v as { sharedLabels?: LabelValues }).sharedLabels;
  return shared === undefined ? own : { ...own, ...shared };
}

/** Groups a histogram's or summary's values by label set (without `le` / `quantile`), in first-seen order. */
function grouped(data: PromMetricData, skip: string, defaults: LabelValues | null): Map<string, MetricMessage> {
  const groups = new Map<string, MetricMessage>();
  for (const v of data.values ?? []) {
    const labels = valueLabels(v);
    const pairs = labelPairs(labels, defaults, skip);
    const key = JSON.stringify(pairs);
    let m = groups.get(key);
    if (m === undefined) {
      m =
        skip === 'le'
          ? { label: pairs, histogram: { sampleCount: 0, sampleSum: 0, bucket: [] } }
          : { label: pairs, summary: { sampleCount: 0, sampleSum: 0, quantile: [] } };
      groups.set(key, m);
    }
    const part = m.histogram ?? m.summary!;
    const metricName = v.metricName ?? data.name;
    if (metricName.endsWith('_sum') && !(skip in labels)) part.sampleSum = v.value;
    else if (metricName.endsWith('_count') && !(skip in labels)) part.sampleCount = v.value;
    else if (m.histogram !== undefined) {
      const le = labels['le'];
      const upperBound = le === '+Inf' ? Infinity : Number(le);
      if (upperBound === Infinity) continue; // the count is the +Inf bucket
      const b: BucketMessage = { cumulativeCount: v.value, upperBound };
      if (usable(v.exemplar)) b.exemplar = exemplarMessage(v.exemplar);
      m.histogram.bucket.push(b);
    } else {
      m.summary!.quantile.push({ quantile: Number(labels['quantile']), value: v.value });
    }
  }
  return groups;
}

/** The metrics of one prom-client metric that is not the kit's, from its `get()` data. */
export function promMetrics(data: PromMetricData, defaults: LabelValues | null): MetricMessage[] {
  if (data.type === 'histogram') return [...grouped(data, 'le', defaults).values()];
  if (data.type === 'summary') return [...grouped(data, 'quantile', defaults).values()];
  const out: MetricMessage[] = [];
  for (const v of data.values ?? []) {
    const m: MetricMessage = { label: labelPairs(valueLabels(v), defaults) };
    if (data.type === 'counter') {
      m.counter = { value: v.value };
      if (usable(v.exemplar)) m.counter.exemplar = exemplarMessage(v.exemplar);
    } else if (data.type === 'gauge') m.gauge = { value: v.value };
    else m.untyped = { value: v.value };
    out.push(m);
  }
  return out;
}
