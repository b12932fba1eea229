import type { CounterFamily, CounterSeries } from './counter.js';
import type { HistogramFamily, HistogramSeries } from './histogram.js';
import { KeptSeries } from './kept-series.js';

/** The two series a successful call of one operation writes. */
export interface SuccessPair {
  readonly calls: KeptSeries<CounterSeries>;
  readonly duration: KeptSeries<HistogramSeries>;
}

/** The most operations kept; calls of others look their series up each time, as before. */
const MAX_OPERATIONS = 256;

/**
 * The series of successful calls (`mesh_calls_total{status="success"}` and `mesh_call_duration_seconds`) by operation,
 * kept so that a call writes them with one lookup instead of one per family. Kept for one service at a time (a
 * metric set's calls are nearly always one service's); string values only, others take the families' own lookup.
 */
export class SuccessSeries {
  private service: string | undefined;
  private byOperation = new Map<string, SuccessPair>();

  constructor(
    private readonly calls: CounterFamily<'service' | 'operation' | 'status' | 'error_type'>,
    private readonly duration: HistogramFamily<'service' | 'operation'>,
  ) {}

  /** The kept pair of this service and operation; `undefined` when it is not kept (then look the series up). */
  of(service: unknown, operation: unknown): SuccessPair | undefined {
    if (typeof service !== 'string' || typeof operation !== 'string') return undefined;
    if (service !== this.service) {
      this.service = service;
      this.byOperation = new Map();
    }
    const kept = this.byOperation.get(operation);
    if (kept !== undefined || this.byOperation.size >= MAX_OPERATIONS) return kept;
    const pair: SuccessPair = {
      calls: new KeptSeries(this.calls, service, operation, 'success', ''),
      duration: new KeptSeries(this.duration, service, operation),
    };
    this.byOperation.set(operation, pair);
    return pair;
  }
}
