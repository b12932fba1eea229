import type { HistogramFamily, HistogramSeries } from '../lib/histogram.js';
import type { HttpServerMetrics } from '../lib/http-server-metrics.js';

/**
 * The series one finished request goes into, one per per-request histogram family (`undefined`: family off). The
 * first-byte series is looked up on the first request of these labels that got a head (see {@link SeriesRows.firstByte}):
 * a label set whose requests never got one has no first-byte series.
 */
export interface SeriesRow {
  readonly duration: HistogramSeries;
  firstByte: HistogramSeries | undefined;
  readonly requestSize: HistogramSeries | undefined;
  readonly responseSize: HistogramSeries | undefined;
}

type ByMethod = Map<string, SeriesRow>;
type ByStatus = Map<number, ByMethod>;

/**
 * The per-request histogram series of the mesh naming without custom labels (`{service,method,route,status_code}`),
 * kept together by route, status and method: a finished request finds all four of its series with one lookup
 * instead of one per family. Each family still guards and caps its label values when a row is built; a row that
 * holds an overflow series is never kept (so every overflowing request is counted as one), and every row is
 * dropped once a family forgets series (`reset()`, `remove()`: the families' revisions change). At most
 * `2 × maxSeries` rows are kept, as a family keeps at most that many cached lookups.
 */
export class SeriesRows {
  private rows = new Map<string, ByStatus>();
  private count = 0;
  private revision: number;
  private readonly limit: number;

  constructor(
    private readonly metrics: HttpServerMetrics,
    private readonly service: string,
    maxSeries: number,
  ) {
    this.revision = this.current();
    this.limit = maxSeries * 2;
  }

  /** The sum of the families' revisions: each only grows, so the sum changes whenever one does. */
  private current(): number {
    const m = this.metrics;
    return (
      m.requestDuration.revision +
      (m.firstByte?.revision ?? 0) +
      (m.requestSize?.revision ?? 0) +
      (m.responseSize?.revision ?? 0)
    );
  }

  /** The row of one request's labels (`route` as the recorder resolved it, `method` already a method label). */
  of(method: string, route: string, status: number): SeriesRow {
    const revision = this.current();
    if (revision !== this.revision) {
      this.rows = new Map();
      this.count = 0;
      this.revision = revision;
    }
    const row = this.rows.get(route)?.get(status)?.get(method);
    return row ?? this.build(method, route, status);
  }

  private build(method: string, route: string, status: number): SeriesRow {
    const m = this.metrics;
    const service = this.service;
    const one = (family: HistogramFamily<string> | undefined): HistogramSeries | undefined =>
      family?.labels(service, method, route, status);
    const row: SeriesRow = {
      duration: one(m.requestDuration) as HistogramSeries,
      firstByte: undefined,
      requestSize: one(m.requestSize),
      responseSize: one(m.responseSize),
    };
    if (this.count >= this.limit || this.overflowing(row)) return row;
    let byStatus = this.rows.get(route);
    if (byStatus === undefined) this.rows.set(route, (byStatus = new Map()));
    let byMethod = byStatus.get(status);
    if (byMethod === undefined) byStatus.set(status, (byMethod = new Map()));
    byMethod.set(method, row);
    this.count++;
    return row;
  }

  /**
   * The first-byte series of a row's labels (the family must be on); kept in the row unless it is the overflow
   * series (then every such request is counted as one, as by the family itself).
   */
  firstByte(row: SeriesRow, method: string, route: string, status: number): HistogramSeries {
    const cached = row.firstByte;
    if (cached !== undefined) return cached;
    const family = this.metrics.firstByte as HistogramFamily<string>;
    const series = family.labels(this.service, method, route, status);
    if (!family.isOverflow(series)) row.firstByte = series;
    return series;
  }

  private overflowing(row: SeriesRow): boolean {
    const m = this.metrics;
    return (
      m.requestDuration.isOverflow(row.duration) ||
      (row.requestSize !== undefined && (m.requestSize as HistogramFamily<string>).isOverflow(row.requestSize)) ||
      (row.responseSize !== undefined && (m.responseSize as HistogramFamily<string>).isOverflow(row.responseSize))
    );
  }
}
