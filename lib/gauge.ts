import { Family, isLabelObject, type FamilyConfig, type FaultSink, type LabelValues, type MetricValue } from './family.js';

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

  /** Sets the gauge to the current time in seconds since the epoch, as prom-client's `setToCurrentTime()`. */
  setToCurrentTime(): void {
    this.value = Date.now() / 1000;
  }

  /** Starts a timer; calling the returned function sets the gauge to the seconds elapsed and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.set(seconds);
      return seconds;
    };
  }
}

/** A gauge family with the kit's label guard and cardinality cap. */
export class GaugeFamily<L extends string = string> extends Family<L, GaugeSeries> {
  readonly type = 'gauge' as const;

  constructor(config: FamilyConfig<L>) {
    super(config);
  }

  /** prom-client's `gauge.set(labels, v)` / `gauge.set(v)`. Never throws; a non-finite value is dropped and counted. */
  set(labels: LabelValues<L>, value: number): void;
  set(value: number): void;
  set(labels: LabelValues<L> | number, value?: number): void {
    if (isLabelObject(labels)) this.withLabels(labels as LabelValues<L>).set(value as number);
    else this.labels().set(labels as number);
  }

  /** prom-client's `gauge.inc(labels, n)` / `gauge.inc(n)`, `n` defaulting to 1. */
  inc(labels: LabelValues<L>, value?: number): void;
  inc(value?: number): void;
  inc(labels?: LabelValues<L> | number, value?: number): void {
    if (isLabelObject(labels)) this.withLabels(labels as LabelValues<L>).inc(value);
    else this.labels().inc(labels);
  }

  /** prom-client's `gauge.dec(labels, n)` / `gauge.dec(n)`, `n` defaulting to 1. */
  dec(labels: LabelValues<L>, value?: number): void;
  dec(value?: number): void;
  dec(labels?: LabelValues<L> | number, value?: number): void {
    if (isLabelObject(labels)) this.withLabels(labels as LabelValues<L>).dec(value);
    else this.labels().dec(labels);
  }

  /** prom-client's `gauge.setToCurrentTime(labels?)`. */
  setToCurrentTime(labels?: LabelValues<L>): void {
    this.withLabels(labels ?? {}).setToCurrentTime();
  }

  /**
   * prom-client's `gauge.startTimer(labels?)`: the returned function sets the gauge to the seconds elapsed, with the
   * labels given at the start and at the end merged, and returns them.
   */
  startTimer(labels?: LabelValues<L>): (endLabels?: LabelValues<L>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      this.withLabels({ ...labels, ...endLabels } as LabelValues<L>).set(seconds);
      return seconds;
    };
  }

  protected createSeries(labels: Readonly<Record<string, string>>): GaugeSeries {
    return new GaugeSeries(labels, this.faults);
  }

  protected collectSeries(series: GaugeSeries, into: MetricValue[]): void {
    into.push({ value: series.value, labels: series.labels });
  }
}
