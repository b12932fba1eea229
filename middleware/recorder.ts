import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { methodLabel } from '../lib/http-server-metrics.js';
import { observeTraced } from '../lib/trace-context.js';
import type { InboundSetup } from './inbound-options.js';

/** The `status_code` of a request whose client went away before the response's last byte. */
export const CLIENT_CLOSED_STATUS = 499;

/** Gives the `route` label of a finished (or aborted) request; `status` is the `status_code` it will carry. */
export type RouteOf = (res: ServerResponse, status: number) => string;

/** Gives the status of a response the server itself abandoned (not the client), or `undefined`. */
export type AbandonedStatus = (res: ServerResponse) => number | undefined;

type Timed = ServerResponse & Record<symbol, number | undefined>;
type Traced = ServerResponse & Record<symbol, string | undefined>;

/**
 * The per-request part shared by the Express and Koa middleware: starts the clock and the in-flight gauge, and on
 * the response's `close` (which follows `finish`, or fires alone on an abort, so each request is recorded once)
 * observes the duration with its labels. Per-request state is one symbol-keyed number on the response; the
 * listener is one function made at construction. Never throws: faults are counted as `kind="internal"`.
 */
export class InboundRecorder {
  private readonly start = Symbol('mesh-metrics.requestStart');
  private readonly trace = Symbol('mesh-metrics.traceId');
  private readonly onClose: (this: ServerResponse) => void;

  constructor(
    private readonly setup: InboundSetup,
    private readonly routeOf: RouteOf,
    private readonly abandoned: AbandonedStatus = () => undefined,
  ) {
    const recorder = this;
    this.onClose = function onClose(this: ServerResponse) {
      recorder.end(this);
    };
  }

  /** Starts measuring one request. */
  begin(res: ServerResponse): void {
    try {
      if ((res as Timed)[this.start] !== undefined) return; // mounted twice on one path: measure once
      (res as Timed)[this.start] = performance.now();
      const traceOf = this.setup.traceOf;
      if (traceOf !== undefined) (res as Traced)[this.trace] = traceOf(res.req?.headers.traceparent);
      this.setup.metrics.requestsInFlight.labels(this.setup.service).inc();
      // A client that left before the request reached us (behind a slow middleware): its close already fired.
      if ((res as { closed?: boolean }).closed === true) this.end(res);
      else res.on('close', this.onClose);
    } catch {
      this.setup.metrics.faults.internal();
    }
  }

  private end(res: ServerResponse): void {
    const { metrics, service } = this.setup;
    try {
      const seconds = (performance.now() - ((res as Timed)[this.start] ?? NaN)) / 1000;
      const status = res.writableFinished ? res.statusCode : (this.abandoned(res) ?? CLIENT_CLOSED_STATUS);
      const route = this.routeOf(res, status);
      const series = metrics.requestDuration.labels(service, methodLabel(res.req?.method), route, status);
      if (this.setup.traceOf === undefined) series.observe(seconds);
      else observeTraced(series, seconds, (res as Traced)[this.trace]);
    } catch {
      metrics.faults.internal();
    } finally {
      metrics.requestsInFlight.labels(service).dec();
    }
  }
}
