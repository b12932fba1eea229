import { Family, type FamilyConfig, type FaultSink, type MetricValue } from './family.js';

/** One gauge series. Non-finite values are dropped and counted, never stored. */
export class GaugeSeries {
  value = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly faults: FaultSink,
  ) {}

  set(value: number): void {
    if (Number.isFinite(value)) this.value = value;
    else this.faults.invalidValue();
  }

  inc(amount = 1): void {
    if (Number.isFinite(amount)) this.value += amount;
    else this.faults.invalidValue();
  }

  dec(amount = 1): void {
    if (Number.isFinite(amount)) this.value -= amount;
    else this.faults.invalidValue();
  }
}

/** A gauge family with the kit's label guard and cardinality cap. */
export class GaugeFamily<L extends string = string> extends Family<L, GaugeSeries> {
  readonly type = 'gauge' as const;

  constructor(config: FamilyConfig<L>) {
    super(config);
  }

  protected createSeries(labels: Readonly<Record<string, string>>): GaugeSeries {
    return new GaugeSeries(labels, this.faults);
  }

  protected collectSeries(series: GaugeSeries, into: MetricValue[]): void {
    into.push({ value: series.value, labels: series.labels });
  }
}
