import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { UNMATCHED_ROUTE } from '../lib/http-server-metrics.js';
import { clientLeft, SERVER_ABANDONED_STATUS, serverAbandonedStatus } from './abandoned.js';
import { resolveInboundOptions, type InboundOptions, type InboundSetup } from './inbound-options.js';
import { InboundRecorder } from './recorder.js';

/** The parts of a Koa 2 or 3 context the middleware reads (`_matchedRoute` is set by `@koa/router`). */
export interface KoaInboundContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly originalUrl: string;
  readonly response: object;
}

/** What custom label functions get on Koa: the context (its request headers, `state` and `get()` included). */
export interface KoaLabelContext extends KoaInboundContext {
  /** The request headers (`ctx.headers`). */
  readonly headers: IncomingHttpHeaders;
  /** What your middleware left for later ones (`ctx.state`, where auth middleware puts the user). */
  readonly state: Record<string, unknown>;
  /** One request header, `""` when absent (`ctx.get()`). */
  get(field: string): string;
}

/** A Koa 2 or 3 middleware. */
export type KoaMiddleware = (ctx: KoaInboundContext, next: () => Promise<unknown>) => Promise<void>;

type ErrorMarked = KoaInboundContext & Record<symbol, number | undefined>;

/** The status Koa gives a thrown error: its `status` (or `statusCode`) when it is an HTTP error status, else 500. */
export function koaErrorStatus(error: unknown): number {
  const e = error as { status?: unknown; statusCode?: unknown; code?: unknown } | null | undefined;
  const s = e?.status ?? e?.statusCode;
  if (typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599) return s;
  return e?.code === 'ENOENT' ? 404 : 500;
}

/** The `route` label of a Koa request: `@koa/router`'s matched template, prefixes and nested routers included. */
function koaRouteTemplate(ctx: unknown, status: number): string {
  const c = ctx as { _matchedRoute?: unknown; response?: { _explicitStatus?: unknown } } | undefined;
  const route = c?._matchedRoute;
  if (route === undefined || route === null || route === '') return UNMATCHED_ROUTE;
  // A route that passed the request on (`await next()`) into nothing: Koa's default 404, never set by anyone.
  if (status === 404 && c?.response?._explicitStatus !== true) return UNMATCHED_ROUTE;
  return typeof route === 'string' ? route : String(route);
}

/**
 * A Node stream body that fails after the chain returned is the server's fault: Koa 3 then destroys the response
 * with the stream's error (which {@link serverAbandonedStatus} reads), but Koa 2 only unpipes it and leaves the
 * response open until the client gives up. Marking the request here records 500 either way. A body destroyed
 * because the client left (Koa 3's pipeline, after a reset) is not marked: the client is gone by then. Shared with
 * `instrumentKoa()`; never throws past its caller's try.
 * @internal
 */
export function watchBody(ctx: KoaInboundContext, key: symbol): void {
  const body = (ctx as { body?: unknown }).body as { pipe?: unknown; once?: unknown } | null | undefined;
  if (typeof body !== 'object' || body === null || typeof body.pipe !== 'function' || typeof body.once !== 'function') {
    return;
  }
  (body as NodeJS.EventEmitter).once('error', () => {
    // Runs in the stream's emit, outside any request's try: a throw here would be an uncaught exception.
    try {
      if (!clientLeft(ctx.res)) (ctx as ErrorMarked)[key] ??= SERVER_ABANDONED_STATUS;
    } catch {
      // A frozen or hostile ctx only loses the mark (Koa 3's destroyed response still reads as 500).
    }
  });
}

/**
 * The per-request recorder of Koa requests, shared by {@link koaMeshMetrics} and `instrumentKoa()`: `errorKey` is
 * where the status of an error thrown by the middleware chain is kept on `ctx` (or of a body stream that failed).
 * @internal
 */
export function koaRecorder(setup: InboundSetup, errorKey: symbol): InboundRecorder<KoaInboundContext> {
  return new InboundRecorder<KoaInboundContext>(
    setup,
    (_res, status, ctx) => koaRouteTemplate(ctx, status),
    // an error thrown through the chain, else who closed it: a failed body stream or res.destroy(err) is the server's
    (res, ctx) => (ctx as ErrorMarked)[errorKey] ?? serverAbandonedStatus(res),
    (_res, ctx) => ctx,
  );
}

/**
 * Koa middleware (Koa 2 and 3) recording `mesh_http_server_request_duration_seconds` and
 * `mesh_http_server_requests_in_flight`. Mount it first: `app.use(koaMeshMetrics())`. A thrown error is recorded
 * with its status (else 500) and rethrown unchanged. Options are checked here; at run time it never throws its own
 * faults into a request.
 */
export function koaMeshMetrics(options: InboundOptions<KoaLabelContext> = {}): KoaMiddleware {
  const setup = resolveInboundOptions(options);
  // Per-request state rides on Koa's ctx (handed to the recorder), not on the response: see middleware/recorder.ts.
  const errorKey = Symbol('mesh-metrics.koaError');
  const recorder = koaRecorder(setup, errorKey);
  const excluded = setup.excluded;
  const faults = setup.metrics.faults;
  return async function koaMeshMetricsMiddleware(ctx, next) {
    let res: ServerResponse | undefined;
    try {
      if (excluded === null || !excluded(ctx.req, ctx.originalUrl)) {
        res = ctx.res;
        recorder.begin(res, ctx);
      }
    } catch {
      faults.internal();
    }
    if (res === undefined) {
      await next();
      return;
    }
    try {
      await next();
      try {
        watchBody(ctx, errorKey);
      } catch {
        faults.internal();
      }
    } catch (error) {
      try {
        (ctx as ErrorMarked)[errorKey] = koaErrorStatus(error);
      } catch {
        faults.internal();
      }
      throw error;
    }
  };
}
