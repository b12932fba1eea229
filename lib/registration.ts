import { CounterFamily } from './counter.js';
import { FAMILY_MARKER, type Aggregator, type Family, type FaultSink } from './family.js';
import { GaugeFamily } from './gauge.js';
import { HistogramFamily } from './histogram.js';
import { sameNativeOptions, type ResolvedNativeHistogramOptions } from './native-histogram.js';
import type { BucketKind, ResolvedMetricsOptions } from './options.js';

/** What a family is called and labelled, before the prefix is applied. */
export interface FamilySpec<L extends string> {
  /** Name without the prefix, e.g. `lb_requests_total`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly omitWhenEmpty?: readonly L[];
  /** See `FamilyConfig.emptyAs`. */
  readonly emptyAs?: Readonly<Partial<Record<L, string>>>;
  readonly aggregator?: Aggregator;
  /** Histograms: which of the options' bucket kinds it uses. @defaultValue `"duration"` */
  readonly buckets?: BucketKind;
  /** A full name that replaces prefix + `name` (OpenTelemetry's names carry no prefix). */
  readonly fullName?: string;
}

type AnyFamily = Family<string, unknown> & {
  buckets?: readonly number[];
  nativeHistograms?: ResolvedNativeHistogramOptions | null;
};

function describeNative(o: ResolvedNativeHistogramOptions | null | undefined): string {
  if (o === null || o === undefined) return 'native histograms off';
  return `native histograms { schema: ${o.schema}, maxBuckets: ${o.maxBuckets}, zeroThreshold: ${o.zeroThreshold} }`;
}

function describeExisting(existing: unknown): string {
  const e = existing as Partial<AnyFamily> & { labelNames?: readonly string[] };
  const labels = Array.isArray(e.labelNames) ? e.labelNames.join(',') : '?';
  return `a ${String(e.type ?? 'metric')}{${labels}}`;
}

function sameLabels(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Returns the family already registered under this name when it is the kit's own with the same type, labels and
 * buckets (so constructing a metric set twice shares its series); registers a new one otherwise. A same-named
 * metric of another type or label set is an `Error` naming it.
 */
function obtain<F extends AnyFamily>(
  options: ResolvedMetricsOptions,
  type: 'counter' | 'gauge' | 'histogram',
  spec: FamilySpec<string>,
  create: (name: string, buckets: readonly number[]) => F,
): F {
  const name = spec.fullName ?? options.prefix + spec.name;
  const buckets = options.bucketsBy[spec.buckets ?? 'duration'];
  const existing = options.registry.getSingleMetric(name) as unknown as AnyFamily | undefined;
  if (existing !== undefined) {
    const want = `a ${type}{${spec.labelNames.join(',')}}`;
    const ours = (existing as { [FAMILY_MARKER]?: boolean })[FAMILY_MARKER] === true;
    if (!ours || existing.type !== type || !sameLabels(existing.labelNames, spec.labelNames)) {
      throw new Error(
        `metric ${name} is already registered as ${describeExisting(existing)}${ours ? '' : ' not made by mesh-metrics'}; mesh-metrics needs ${want}`,
      );
    }
    if (type === 'histogram' && !sameLabels(existing.buckets?.map(String), buckets.map(String))) {
      throw new Error(
        `metric ${name} is already registered with buckets [${existing.buckets?.join(', ')}], not [${buckets.join(', ')}]`,
      );
    }
    if (type === 'histogram' && !sameNativeOptions(existing.nativeHistograms ?? null, options.nativeHistograms)) {
      throw new Error(
        `metric ${name} is already registered with ${describeNative(existing.nativeHistograms)}, not ${describeNative(options.nativeHistograms)}`,
      );
    }
    return existing as F;
  }
  const family = create(name, buckets);
  options.registry.registerMetric(family as never);
  return family;
}

export function counterFamily<L extends string>(
  options: ResolvedMetricsOptions,
  faults: FaultSink | null,
  spec: FamilySpec<L>,
): CounterFamily<L> {
  return obtain(options, 'counter', spec, (name) => new CounterFamily<L>({ ...spec, name, options, faults }) as never);
}

export function gaugeFamily<L extends string>(
  options: ResolvedMetricsOptions,
  faults: FaultSink | null,
  spec: FamilySpec<L>,
): GaugeFamily<L> {
  return obtain(options, 'gauge', spec, (name) => new GaugeFamily<L>({ ...spec, name, options, faults }) as never);
}

export function histogramFamily<L extends string>(
  options: ResolvedMetricsOptions,
  faults: FaultSink | null,
  spec: FamilySpec<L>,
): HistogramFamily<L> {
  return obtain(
    options,
    'histogram',
    spec,
    (name, buckets) =>
      new HistogramFamily<L>({
        ...spec,
        name,
        options,
        faults,
        buckets,
        nativeHistograms: options.nativeHistograms,
      }) as never,
  );
}
