import type { Family } from './family.js';

/**
 * One series a caller keeps between uses instead of looking it up each time: looked up on first use (a label set never
 * used has no series), looked up again once its family forgot series (`reset()`, `remove()`: the family's `revision`
 * changed), and never kept when the lookup gave the overflow series, so that every overflowing use is counted as the
 * family counts it. The label values are fixed for the life of the slot and pass the family's guard at each lookup.
 */
export class KeptSeries<S> {
  private series: S | undefined;
  private revision = -1;
  private readonly values: readonly string[];

  constructor(
    private readonly family: Family<string, S>,
    ...values: string[]
  ) {
    this.values = values;
  }

  /** The series of the slot's label values. Never throws (the family's lookup does not). */
  get(): S {
    const family = this.family;
    const kept = this.series;
    if (kept !== undefined && this.revision === family.revision) return kept;
    const series = family.labelsOf(this.values);
    if (family.isOverflow(series)) {
      this.series = undefined;
    } else {
      this.series = series;
      this.revision = family.revision;
    }
    return series;
  }
}
