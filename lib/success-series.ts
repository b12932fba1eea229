import type { CounterFamily, CounterSeries } from './counter.js';
import type { HistogramFamily, HistogramSeries } from './histogram.js';
import { KeptSeries } from './kept-series.js';

/** The two series a successful call of one operation writes. */
export interface SuccessPair {
  readonly calls: KeptSeries<CounterSeries>;
  readonly duration: KeptSeries<HistogramSeries>;
}

/** The most services, and operations of each, kept; calls of others look their series up each time, as before. */
const MAX_SERVICES = 64;
const MAX_OPERATIONS = 256;

/**
 * The series of successful calls (`mesh_calls_total{status="success"}` and `mesh_call_duration_seconds`) by service
 * and operation, kept so that a call writes them with two map lookups instead of one lookup per family and label.
 * String values only; others take the families' own lookup.
 */
export class SuccessSeries {
  private readonly byService = new Map<string, Map<string, SuccessPair>>();

  constructor(
    private readonly calls: CounterFamily<'service' | 'operation' | 'status' | 'error_type'>,
    private readonly duration: HistogramFamily<'service' | 'operation'>,
  ) {}

  /** The kept pair of this service and operation; `undefined` when it is not kept (then look the series up). */
  of(service: unknown, operation: unknown): SuccessPair | undefined {
    if (typeof service !== 'string' || typeof operation !== 'string') return undefined;
    let byOperation = this.byService.get(service);
    if (byOperation === undefined) {
      if (this.byService.size >= MAX_SERVICES) return undefined;
      this.byService.set(service, (byOperation = new Map()));
    }
    const kept = byOperation.get(operation);
    if (kept !== undefined || byOperation.size >= MAX_OPERATIONS) return kept;
    const pair: SuccessPair = {
      calls: new KeptSeries(this.calls, service, operation, 'success', ''),
      duration: new KeptSeries(this.duration, service, operation),
    };
    byOperation.set(operation, pair);
    return pair;
  }
}
