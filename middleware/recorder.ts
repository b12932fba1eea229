import { OutgoingMessage, type ServerResponse } from 'node:http';
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

/**
 * Node's own `closed` getter, called directly. Express gives every response a hidden class of its own (it sets the
 * prototype per request), and there looking `closed` up the prototype chain, or adding a property to the response,
 * cost about 10 µs a request; see BENCHMARKS.md.
 */
const closedGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'closed')?.get;

function isClosed(res: ServerResponse): boolean {
  const closed = closedGetter !== undefined && res instanceof OutgoingMessage ? closedGetter.call(res) : res.closed;
  return closed === true;
}

/**
 * The per-request part shared by the Express and Koa middleware: starts the clock and the in-flight gauge, and on
 * the response's `close` (which follows `finish`, or fires alone on an abort, so each request is recorded once)
 * observes the duration with its labels. Per-request state lives in WeakMaps, off the response; the
 * listener is one function made at construction. Never throws: faults are counted as `kind="internal"`.
 */
export class InboundRecorder {
  /** Per-request state, kept off the response object (see {@link closedGetter}). */
  private readonly started = new WeakMap<ServerResponse, number>();
  private readonly traces = new WeakMap<ServerResponse, string>();
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
      if (this.started.has(res)) return; // mounted twice on one path: measure once
      this.started.set(res, performance.now());
      const traceOf = this.setup.traceOf;
      if (traceOf !== undefined) {
        const traceId = traceOf(res.req?.headers.traceparent);
        if (traceId !== undefined) this.traces.set(res, traceId);
      }
      this.setup.metrics.requestsInFlight.labels(this.setup.service).inc();
      // A client that left before the request reached us (behind a slow middleware): its close already fired.
      if (isClosed(res)) this.end(res);
      else res.on('close', this.onClose);
    } catch {
      this.setup.metrics.faults.internal();
    }
  }

  private end(res: ServerResponse): void {
    const { metrics, service } = this.setup;
    try {
      const seconds = (performance.now() - (this.started.get(res) ?? NaN)) / 1000;
      const status = res.writableFinished ? res.statusCode : (this.abandoned(res) ?? CLIENT_CLOSED_STATUS);
      const route = this.routeOf(res, status);
      const series = metrics.requestDuration.labels(service, methodLabel(res.req?.method), route, status);
      if (this.setup.traceOf === undefined) series.observe(seconds);
      else observeTraced(series, seconds, this.traces.get(res));
    } catch {
      metrics.faults.internal();
    } finally {
      metrics.requestsInFlight.labels(service).dec();
    }
  }
}
