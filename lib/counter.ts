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

/** One counter series. `inc` drops (and counts) NaN, infinite and negative amounts instead of throwing. */
export class CounterSeries {
  value = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly faults: FaultSink,
  ) {}

  inc(amount = 1): void {
    if (typeof amount === 'number' && amount >= 0 && amount !== Infinity) this.value += amount;
    else this.faults.invalidValue();
  }
}

/** A counter family with the kit's label guard and cardinality cap. */
export class CounterFamily<L extends string = string> extends Family<L, CounterSeries> {
  readonly type = 'counter' as const;

  constructor(config: FamilyConfig<L>) {
    super(config);
  }

  /** prom-client's `counter.inc(labels, n)` / `counter.inc(n)`: adds `value` (default 1) to the series. Never throws. */
  inc(labels: LabelValues<L>, value?: number): void;
  inc(value?: number): void;
  inc(data: ValueData<L>): void;
  inc(labels?: LabelValues<L> | ValueData<L> | number, value?: number): void {
    if (!isLabelObject(labels)) return this.labels().inc(labels as number | undefined);
    if (value === undefined && isValueData(labels)) {
      const data = labels as ValueData<L>;
      return this.withLabels(data.labels ?? {}).inc(data.value);
    }
    this.withLabels(labels as LabelValues<L>).inc(value);
  }

  protected createSeries(labels: Readonly<Record<string, string>>): CounterSeries {
    return new CounterSeries(labels, this.faults);
  }

  protected collectSeries(series: CounterSeries, into: MetricValue[]): void {
    into.push({ value: series.value, labels: series.labels });
  }
}
