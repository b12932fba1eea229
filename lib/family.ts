import type { ResolvedMetricsOptions } from './options.js';
import { sanitizeLabelValue } from './label-value.js';

/** The value every label of the overflow series carries once a family is full. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** Marks the kit's families so that a second construction can find and reuse them, across package copies too. */
export const FAMILY_MARKER: unique symbol = Symbol.for('mesh-metrics.family') as never;

/** Where a family reports what it dropped or diverted; see `SelfMetrics`. */
export interface FaultSink {
  invalidValue(): void;
  internal(): void;
  overflow(metricName: string): void;
}

/** How prom-client's `AggregatorRegistry` combines one family across `node:cluster` workers. */
export type Aggregator = 'sum' | 'average' | 'max' | 'min' | 'omit' | 'first';

export interface FamilyConfig<L extends string> {
  /** Full family name, prefix included. */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Labels left out of a series whose value is `""` (such as `error_type` on successful calls). */
  readonly omitWhenEmpty?: readonly L[];
  /**
   * The value a label takes when its cleaned value is `""`, however it was written (the balancer families'
   * `instance`: Prometheus would read an empty one as missing and put the scrape target's address there).
   */
  readonly emptyAs?: Readonly<Partial<Record<L, string>>>;
  readonly aggregator?: Aggregator;
  readonly options: ResolvedMetricsOptions;
  /** `null` for the kit's own fault counters, which must not report into themselves. */
  readonly faults: FaultSink | null;
}

/** One value in prom-client's `metric.get()` shape. */
export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number };
}

export interface MetricObject {
  name: string;
  help: string;
  type: string;
  values: MetricValue[];
  aggregator: Aggregator;
}

/** Label values by name, as prom-client's `LabelValues<T>`: `{ service: 'users', instance: '…' }`. */
export type LabelValues<L extends string> = Partial<Readonly<Record<L, string | number>>>;

type CacheNode<S> = Map<unknown, CacheNode<S> | S>;

/**
 * prom-client's single-argument form `{ value, labels, exemplarLabels }` (`inc(...)`, `observe(...)`). The kit's
 * families accept it; `exemplarLabels` are ignored (the kit attaches its own trace exemplars).
 */
export interface ValueData<L extends string> {
  readonly value?: number;
  readonly labels?: LabelValues<L>;
  readonly exemplarLabels?: LabelValues<L>;
}

/** Whether a lone object argument is a {@link ValueData} rather than label values (no family has such label names). */
export function isValueData(value: Readonly<Record<string, unknown>>): boolean {
  return 'value' in value || 'labels' in value || 'exemplarLabels' in value;
}

/** Whether a first argument is label values by name (a plain object) rather than the first label value. */
export function isLabelObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const NO_FAULTS: FaultSink = { invalidValue() {}, internal() {}, overflow() {} };

function cacheable(value: unknown, maxLength: number): boolean {
  switch (typeof value) {
    case 'string':
      return value.length <= maxLength;
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    default:
      return value === null;
  }
}

/**
 * A family of series with one label set each: the label guard (sanitising, collision-free identity) and the
 * cardinality cap live here, shared by counters, gauges and histograms. It quacks like a prom-client metric, so a
 * prom-client `Registry` (and its `AggregatorRegistry`) serves it next to the application's own metrics.
 */
export abstract class Family<L extends string, S> {
  readonly [FAMILY_MARKER] = true;
  /** The name a registry renders; prom-client renames counters in place for OpenMetrics, so it stays writable. */
  name: string;
  readonly fullName: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator: Aggregator;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  protected readonly faults: FaultSink;
  private readonly reportFaults: boolean;
  private readonly arity: number;
  /** The most series the family holds, its overflow series included (`maxSeries`). */
  readonly maxSeries: number;
  private readonly maxLength: number;
  private readonly omit: readonly boolean[];
  private readonly fill: readonly (string | undefined)[] | undefined;
  private readonly byKey = new Map<string, S>();
  private cache: CacheNode<S> = new Map();
  private cacheSize = 0;
  private overflowSeries: S | undefined;
  private single: S | undefined;
  /**
   * Changes whenever a series may have left the family ({@link reset}, {@link remove}): a caller that keeps series
   * it looked up (the inbound recorder's rows) checks it before using them.
   */
  revision = 0;

  protected constructor(config: FamilyConfig<L>) {
    if (config.labelNames.length > 12) throw new TypeError(`${config.name}: at most 12 labels are supported`);
    this.name = config.name;
    this.fullName = config.name;
    this.help = config.help;
    this.labelNames = Object.freeze([...config.labelNames]);
    this.aggregator = config.aggregator ?? 'sum';
    this.faults = config.faults ?? NO_FAULTS;
    this.reportFaults = config.faults !== null;
    this.arity = config.labelNames.length;
    this.maxSeries = config.options.maxSeries;
    this.maxLength = config.options.maxLabelValueLength;
    const omitted = new Set<string>(config.omitWhenEmpty ?? []);
    this.omit = this.labelNames.map((n) => omitted.has(n));
    const emptyAs = config.emptyAs;
    this.fill = emptyAs === undefined ? undefined : this.labelNames.map((n) => emptyAs[n]);
  }

  /** The cleaned label values of `raw` (a series' identity): sanitised, an empty one replaced per `emptyAs`. */
  private clean(raw: readonly unknown[]): string[] {
    const clean = raw.map((v) => sanitizeLabelValue(v, this.maxLength));
    const fill = this.fill;
    if (fill !== undefined) {
      for (let i = 0; i < clean.length; i++) if (clean[i] === '' && fill[i] !== undefined) clean[i] = fill[i] as string;
    }
    return clean;
  }

  /** Creates the storage of one series. */
  protected abstract createSeries(labels: Readonly<Record<string, string>>): S;
  /** Appends one series' values in prom-client's `get()` shape. */
  protected abstract collectSeries(series: S, into: MetricValue[]): void;

  /**
   * The series for these label values, given in `labelNames` order or by name (`{ service: 'users' }`) as with
   * prom-client. Values are sanitised; a new label set in a full family gets the overflow series. Never throws.
   */
  labels(labels: LabelValues<L>): S;
  labels(...values: unknown[]): S;
  labels(a?: unknown, b?: unknown, c?: unknown, d?: unknown): S {
    // a family of more than four labels (custom labels) takes its values from `arguments`: off the fast path
    if (this.arity > 4 && !isLabelObject(a)) return this.labelsOf(Array.prototype.slice.call(arguments));
    return this.find(a, b, c, d, false);
  }

  /**
   * The series for these label values, given in `labelNames` order, for a family of any number of labels (such as
   * one with custom labels). Same guard and cap as {@link labels}. Never throws.
   */
  labelsOf(values: readonly unknown[]): S {
    const n = this.arity;
    if (n <= 4) return this.find(values[0], values[1], values[2], values[3], true);
    let node: CacheNode<S> | S | undefined = this.cache;
    for (let i = 0; i < n && node !== undefined; i++) node = (node as CacheNode<S>).get(values[i]);
    if (node !== undefined) return node as S;
    return this.resolveAll(values.slice(0, n));
  }

  /** Like {@link labels}, with the values named. Never throws. */
  withLabels(labels: Partial<Readonly<Record<L, unknown>>>): S {
    let v: unknown[];
    try {
      v = this.labelNames.map((name) => labels[name]);
    } catch {
      this.faults.internal();
      return this.overflow();
    }
    if (this.arity > 4) return this.labelsOf(v);
    return this.find(v[0], v[1], v[2], v[3], true);
  }

  /** The cached series of these values, else {@link resolve}; `named` when the values came by name. */
  private find(a: unknown, b: unknown, c: unknown, d: unknown, named: boolean): S {
    const n = this.arity;
    if (n === 0) return (this.single ??= this.createSeries({}));
    let node: CacheNode<S> | S | undefined = this.cache.get(a);
    if (n > 1 && node !== undefined) node = (node as CacheNode<S>).get(b);
    if (n > 2 && node !== undefined) node = (node as CacheNode<S>).get(c);
    if (n > 3 && node !== undefined) node = (node as CacheNode<S>).get(d);
    if (node !== undefined) return node as S;
    return this.resolve(a, b, c, d, named);
  }

  /** Whether `series` is the family's overflow series (a lookup that found it counted an overflow). */
  isOverflow(series: S): boolean {
    return series === this.overflowSeries;
  }

  /** How many series the family holds, the overflow series included. */
  get seriesCount(): number {
    return this.byKey.size + (this.overflowSeries === undefined ? 0 : 1) + (this.single === undefined ? 0 : 1);
  }

  /** Every series with its label set, the overflow series last. */
  *series(): IterableIterator<S> {
    if (this.single !== undefined) yield this.single;
    yield* this.byKey.values();
    if (this.overflowSeries !== undefined) yield this.overflowSeries;
  }

  get(): MetricObject {
    const values: MetricValue[] = [];
    for (const s of this.series()) this.collectSeries(s, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()` calls this). */
  reset(): void {
    this.byKey.clear();
    this.cache = new Map();
    this.cacheSize = 0;
    this.overflowSeries = undefined;
    this.single = undefined;
    this.revision++;
  }

  /**
   * Forgets the series of these label values (given as to {@link labels}: in order, or by name), so that it leaves
   * the exposition, such as a gauge of an instance that was deregistered. Returns whether there was one. Never throws.
   */
  remove(labels: LabelValues<L>): boolean;
  remove(...values: unknown[]): boolean;
  remove(a?: unknown): boolean {
    try {
      let raw: unknown[];
      if (this.arity > 0 && isLabelObject(a)) {
        const named = a as Readonly<Record<string, unknown>>;
        raw = this.labelNames.map((name) => named[name]);
      } else {
        raw = Array.prototype.slice.call(arguments, 0, this.arity);
        while (raw.length < this.arity) raw.push(undefined);
      }
      const clean = this.clean(raw);
      if (!this.byKey.delete(clean.join('\u0000'))) return false;
      // Raw values of other spellings may still point at the removed series: start the cache afresh.
      this.cache = new Map();
      this.cacheSize = 0;
      this.revision++;
      return true;
    } catch {
      this.faults.internal();
      return false;
    }
  }

  private resolve(a: unknown, b: unknown, c: unknown, d: unknown, named: boolean): S {
    // by name (prom-client's `labels({ ... })`): never cached, so this costs the positional fast path nothing
    if (!named && this.arity > 0 && isLabelObject(a)) return this.withLabels(a as Partial<Record<L, unknown>>);
    return this.resolveAll([a, b, c, d].slice(0, this.arity));
  }

  private resolveAll(raw: readonly unknown[]): S {
    try {
      const clean = this.clean(raw);
      const key = clean.join('\u0000');
      let series = this.byKey.get(key);
      if (series === undefined) {
        if (this.byKey.size >= this.maxSeries - 1) return this.overflow();
        series = this.createSeries(this.labelObject(clean));
        this.byKey.set(key, series);
      }
      this.remember(raw, series);
      return series;
    } catch {
      this.faults.internal();
      return this.overflow();
    }
  }

  private labelObject(clean: readonly string[]): Readonly<Record<string, string>> {
    const labels: Record<string, string> = {};
    for (let i = 0; i < clean.length; i++) {
      const value = clean[i] as string;
      if (value === '' && this.omit[i]) continue;
      labels[this.labelNames[i] as string] = value;
    }
    return Object.freeze(labels);
  }

  private remember(raw: readonly unknown[], series: S): void {
    if (this.cacheSize >= this.maxSeries * 2) return;
    for (const v of raw) if (!cacheable(v, this.maxLength)) return;
    let node = this.cache;
    for (let i = 0; i < raw.length - 1; i++) {
      let next = node.get(raw[i]) as CacheNode<S> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(raw[i], next);
      }
      node = next;
    }
    node.set(raw[raw.length - 1], series);
    this.cacheSize++;
  }

  private overflow(): S {
    if (this.reportFaults) this.faults.overflow(this.fullName);
    if (this.overflowSeries === undefined) {
      const labels: Record<string, string> = {};
      for (const name of this.labelNames) labels[name] = OVERFLOW_LABEL_VALUE;
      this.overflowSeries = this.createSeries(Object.freeze(labels));
    }
    return this.overflowSeries;
  }
}
