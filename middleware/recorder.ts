import { EventEmitter } from 'node:events';
import { OutgoingMessage, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { GaugeSeries } from '../lib/gauge.js';
import { methodLabel } from '../lib/http-server-metrics.js';
import { observeTraced } from '../lib/trace-context.js';
import type { InboundSetup } from './inbound-options.js';
import { SeriesRows } from './series-rows.js';
import {
  appendCustomValues,
  CLIENT_CLOSED_STATUS,
  contentLength,
  isEventStream,
  otelValues,
  urlScheme,
} from './request-labels.js';
import {
  HEAD,
  installWireHooks,
  RECORDER,
  REQUEST_BODY,
  RESPONSE_BODY,
  UPGRADE_HEAD,
  watchUpgrade,
  WIRE_EVENT,
  type WireListener,
} from '../lib/wire-hooks.js';

export { CLIENT_CLOSED_STATUS } from './request-labels.js';

/**
 * Gives the `route` label of a finished (or aborted) request; `status` is the `status_code` it will carry and
 * `context` what the middleware passed to `begin` (Koa's `ctx`).
 */
export type RouteOf<C = undefined> = (res: ServerResponse, status: number, context: C) => string;

/** Gives the status of a response the server itself abandoned (not the client), or `undefined`. */
export type AbandonedStatus<C = undefined> = (res: ServerResponse, context: C) => number | undefined;

/** Gives what the custom `labels.values` function is called with: Express's `req`, Koa's `ctx`. */
export type LabelSource<C = undefined> = (res: ServerResponse, context: C) => unknown;

/**
 * Node's own `closed` getter, called directly. Express gives every response a hidden class of its own (it sets the
 * prototype per request); on such an object, looking `closed` up the prototype chain, or adding a property to it,
 * takes V8's slow paths (several µs a request; see BENCHMARKS.md). `on` is called directly for the same reason.
 */
const closedGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'closed')?.get;
const addListener = EventEmitter.prototype.on;

function bodyMayFollow(req: IncomingMessage): boolean {
  const headers = req.headers;
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isClosed(res: ServerResponse): boolean {
  const closed = closedGetter !== undefined && res instanceof OutgoingMessage ? closedGetter.call(res) : res.closed;
  return closed === true;
}

/**
 * A recorder's `close` listener, marked with the families it records into (under the wire hooks' shared key, which
 * also has the wrappers notify it): every recorder on one registry and prefix shares them, so two middleware
 * instances there (an app and its sub-app) measure a request once.
 */
type OwnedListener = WireListener & { [RECORDER]?: object };

const headersSentGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')?.get;

function headersSent(res: ServerResponse): boolean {
  const sent = headersSentGetter !== undefined && res instanceof OutgoingMessage ? headersSentGetter.call(res) : res.headersSent;
  return sent === true;
}

/**
 * The per-request part shared by the Express and Koa middleware: starts the clock and the in-flight gauge, and on
 * the response's `close` (which follows `finish`, or fires alone on an abort, so each request is recorded once)
 * observes every per-request family with its labels. Per-request state (start time, head time, byte counts, trace
 * id) lives in the one listener added per request (on `close`, and under the wire event of `wire-hooks.ts` on the
 * response and the request), not on the response: adding a property to an Express response, or keeping it in a
 * `WeakMap`, measured slower (see BENCHMARKS.md). Which families, labels and options apply is decided at
 * construction. Never throws: faults are counted as `kind="internal"`.
 */
export class InboundRecorder<C = undefined> {
  /** The marker of this recorder's `close` listeners: the shared family, not the recorder. */
  private readonly owner: object;
  /** Whether the head time or byte counts are needed (then the wire hooks are installed). */
  private readonly wire: boolean;
  private readonly otel: boolean;
  /** Mesh naming without custom labels: the four-label fast path, every family's series found by one lookup. */
  private readonly rows: SeriesRows | undefined;

  constructor(
    private readonly setup: InboundSetup,
    private readonly routeOf: RouteOf<C>,
    private readonly abandoned: AbandonedStatus<C> = () => undefined,
    private readonly labelSource: LabelSource<C> = (res) => res.req,
  ) {
    const m = setup.metrics;
    this.owner = m.requestDuration;
    this.wire = m.firstByte !== undefined || m.requestSize !== undefined;
    this.otel = m.naming === 'otel';
    this.rows = this.otel || setup.customLabels !== undefined ? undefined : new SeriesRows(m, setup.service, m.requestDuration.maxSeries);
    if (this.wire) installWireHooks();
  }

  /** Starts measuring one request; `context` is handed back to `routeOf`, `abandoned` and `labelSource`. */
  begin(res: ServerResponse, context: C): void {
    try {
      if (this.measuring(res)) return; // met twice on one path (or two instances on one registry): measure once
      const start = performance.now();
      const req = res.req as IncomingMessage | undefined;
      const traceOf = this.setup.traceOf;
      const traceId = traceOf === undefined ? undefined : traceOf(req?.headers.traceparent);
      const inFlight = this.otel
        ? this.setup.metrics.requestsInFlight.labels(methodLabel(req?.method), urlScheme(req))
        : this.setup.metrics.requestsInFlight.labels(this.setup.service);
      inFlight.inc();
      let done = false;
      let headAt = -1;
      let sent = 0;
      let received = 0;
      let upgraded = -1; // the status an upgraded connection's handshake answered
      const wire = this.wire;
      const listener: OwnedListener = (kind, bytes) => {
        if (kind === HEAD) {
          // only a recorder with the wire families on times heads (its listener also hears other recorders' hooks)
          if (headAt < 0 && wire) headAt = performance.now();
        } else if (kind === UPGRADE_HEAD) {
          if (headAt < 0) headAt = performance.now();
          upgraded = bytes as number;
        } else if (kind === RESPONSE_BODY) {
          sent += bytes as number;
        } else if (kind === REQUEST_BODY) {
          received += bytes as number;
        } else if (!done) {
          done = true;
          this.end(res, context, start, headAt, sent, received, traceId, inFlight, upgraded);
        }
      };
      listener[RECORDER] = this.owner;
      addListener.call(res, 'close', listener);
      // Handed over from the server's 'upgrade' event (a WebSocket route): the connection is the request's life.
      if ((req as { upgrade?: boolean } | undefined)?.upgrade === true) watchUpgrade(req as IncomingMessage, listener);
      if (this.wire) {
        // Request body bytes: only a request with a Content-Length or Transfer-Encoding has a body (RFC 9112 6.3).
        if (req !== undefined && this.setup.metrics.requestSize !== undefined && bodyMayFollow(req)) {
          addListener.call(req, WIRE_EVENT, listener);
        }
        // A head already written before the request reached us (behind a middleware that answered early).
        if (headersSent(res)) headAt = start;
      }
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
    for (const l of res.rawListeners('close')) if ((l as OwnedListener)[RECORDER] === owner) return true;
    return false;
  }

  // The measured values come as arguments, not as an object: nothing is allocated per request for them.
  private end(
    res: ServerResponse,
    context: C,
    start: number,
    headAt: number,
    sent: number,
    received: number,
    traceId: string | undefined,
    inFlight: GaugeSeries,
    upgraded: number,
  ): void {
    const metrics = this.setup.metrics;
    try {
      const now = performance.now();
      const headSent = headAt >= 0;
      // An event stream or an upgraded connection is timed to its head, and its end by the client is its normal
      // end (the head's status). A finished response whose head went out within a millisecond of its end is timed
      // the same either way (and gets its status either way), so its Content-Type is not read.
      const finished = res.writableFinished;
      const stream = upgraded >= 0 || (headSent && (!finished || now - headAt >= 1) && isEventStream(res));
      const status =
        upgraded >= 0
          ? upgraded
          : stream || finished
            ? res.statusCode
            : (this.abandoned(res, context) ?? CLIENT_CLOSED_STATUS);
      const route = this.routeOf(res, status, context);
      const method = methodLabel(res.req?.method);
      if (this.setup.skip !== undefined && this.skips(status, route, method, headSent)) return;
      const seconds = ((stream ? headAt : now) - start) / 1000;
      const req = res.req as IncomingMessage | undefined;
      const declared = metrics.requestSize !== undefined && req?.complete === true ? contentLength(req) : -1;
      const requestBytes = declared >= 0 ? declared : received;
      const traced = this.setup.traceOf !== undefined;
      const rows = this.rows;
      if (rows !== undefined) {
        // the four-label fast path: one lookup finds the series of every family
        const row = rows.of(method, route, status);
        if (traced) observeTraced(row.duration, seconds, traceId);
        else row.duration.observe(seconds);
        if (headSent && metrics.firstByte !== undefined) rows.firstByte(row, method, route, status).observe((headAt - start) / 1000);
        row.requestSize?.observe(requestBytes);
        row.responseSize?.observe(sent);
        return;
      }
      const values = this.values(res, context, method, route, status, headSent);
      const series = metrics.requestDuration.labelsOf(values);
      if (traced) observeTraced(series, seconds, traceId);
      else series.observe(seconds);
      if (headSent) metrics.firstByte?.labelsOf(values).observe((headAt - start) / 1000);
      metrics.requestSize?.labelsOf(values).observe(requestBytes);
      metrics.responseSize?.labelsOf(values).observe(sent);
    } catch {
      metrics.faults.internal();
    } finally {
      inFlight.dec();
    }
  }

  private values(res: ServerResponse, context: C, method: string, route: string, status: number, headSent: boolean): unknown[] {
    const values = this.otel ? otelValues(method, route, status, headSent, res) : [this.setup.service, method, route, status];
    if (this.setup.customLabels !== undefined) appendCustomValues(this.setup, this.labelSource(res, context), values);
    return values;
  }

  /** Runs `skip`; when it says so, counts the request in the skipped counter of every family it would have entered. */
  private skips(status: number, route: string, method: string, headSent: boolean): boolean {
    const { metrics, skip, skipped } = this.setup;
    let out: unknown;
    try {
      out = skip?.({ status, route, method });
    } catch {
      metrics.faults.internal();
      return false;
    }
    if (out !== true || skipped === undefined) return false;
    skipped.labels(metrics.requestDuration.fullName).inc();
    if (headSent && metrics.firstByte !== undefined) skipped.labels(metrics.firstByte.fullName).inc();
    if (metrics.requestSize !== undefined) skipped.labels(metrics.requestSize.fullName).inc();
    if (metrics.responseSize !== undefined) skipped.labels(metrics.responseSize.fullName).inc();
    return true;
  }
}
