import { OutgoingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { methodLabel } from '../lib/http-server-metrics.js';
import { observeTraced } from '../lib/trace-context.js';
import type { InboundSetup } from './inbound-options.js';

/** The `status_code` of a request whose client went away before the response's last byte. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Gives the `route` label of a finished (or aborted) request; `status` is the `status_code` it will carry and
 * `context` what the middleware passed to `begin` (Koa's `ctx`).
 */
export type RouteOf<C = undefined> = (res: ServerResponse, status: number, context: C) => string;

/** Gives the status of a response the server itself abandoned (not the client), or `undefined`. */
export type AbandonedStatus<C = undefined> = (res: ServerResponse, context: C) => number | undefined;

/**
 * Node's own `closed` getter, called directly. Express gives every response a hidden class of its own (it sets the
 * prototype per request); on such an object, looking `closed` up the prototype chain, or adding a property to it,
 * takes V8's slow paths (several µs a request; see BENCHMARKS.md).
 */
const closedGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'closed')?.get;

function isClosed(res: ServerResponse): boolean {
  const closed = closedGetter !== undefined && res instanceof OutgoingMessage ? closedGetter.call(res) : res.closed;
  return closed === true;
}

/**
 * Marks a `close` listener with the families it records into: every recorder on one registry and prefix shares them,
 * so two middleware instances there (an app and its sub-app) measure a request once.
 */
const OWNER = Symbol('mesh-metrics.recorder');
type OwnedListener = (() => void) & { [OWNER]?: object };

/**
 * The per-request part shared by the Express and Koa middleware: starts the clock and the in-flight gauge, and on
 * the response's `close` (which follows `finish`, or fires alone on an abort, so each request is recorded once)
 * observes the duration with its labels. Per-request state (start time, trace id) lives in the one `close` listener
 * added per request, not on the response: adding a property to an Express response, or keeping it in a `WeakMap`,
 * measured slower (see BENCHMARKS.md). Never throws: faults are counted as `kind="internal"`.
 */
export class InboundRecorder<C = undefined> {
  /** The marker of this recorder's `close` listeners: the shared family, not the recorder. */
  private readonly owner: object;

  constructor(
    private readonly setup: InboundSetup,
    private readonly routeOf: RouteOf<C>,
    private readonly abandoned: AbandonedStatus<C> = () => undefined,
  ) {
    this.owner = setup.metrics.requestDuration;
  }

  /** Starts measuring one request; `context` is handed back to `routeOf` and `abandoned`. */
  begin(res: ServerResponse, context: C): void {
    try {
      if (this.measuring(res)) return; // met twice on one path (or two instances on one registry): measure once
      const start = performance.now();
      const traceOf = this.setup.traceOf;
      const traceId = traceOf === undefined ? undefined : traceOf(res.req?.headers.traceparent);
      this.setup.metrics.requestsInFlight.labels(this.setup.service).inc();
      let done = false;
      const listener: OwnedListener = () => {
        if (done) return;
        done = true;
        this.end(res, context, start, traceId);
      };
      listener[OWNER] = this.owner;
      res.on('close', listener);
      // A client that left before the request reached us (behind a slow middleware): its close already fired.
      if (isClosed(res)) listener();
    } catch {
      this.setup.metrics.faults.internal();
    }
  }

  /** Whether a recorder on the same families already listens on `res`: met twice on one request. */
  private measuring(res: ServerResponse): boolean {
    if (res.listenerCount('close') === 0) return false;
    const owner = this.owner;
    for (const l of res.rawListeners('close')) if ((l as OwnedListener)[OWNER] === owner) return true;
    return false;
  }

  private end(res: ServerResponse, context: C, start: number, traceId: string | undefined): void {
    const { metrics, service } = this.setup;
    try {
      const seconds = (performance.now() - start) / 1000;
      const status = res.writableFinished ? res.statusCode : (this.abandoned(res, context) ?? CLIENT_CLOSED_STATUS);
      const route = this.routeOf(res, status, context);
      const series = metrics.requestDuration.labels(service, methodLabel(res.req?.method), route, status);
      if (this.setup.traceOf === undefined) series.observe(seconds);
      else observeTraced(series, seconds, traceId);
    } catch {
      metrics.faults.internal();
    } finally {
      metrics.requestsInFlight.labels(service).dec();
    }
  }
}
