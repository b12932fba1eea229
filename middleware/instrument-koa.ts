import { describeValue } from '../lib/options.js';
import { resolveInboundOptions, type InboundOptions } from './inbound-options.js';
import type { Instrumentation } from './instrument-express.js';
import { koaErrorStatus, koaRecorder, type KoaInboundContext } from './koa.js';

/** The composed middleware chain Koa hands to `handleRequest`. */
type Chain = (ctx: KoaInboundContext) => PromiseLike<unknown>;

/** A Koa 2 or 3 application (typed loosely, so the root entry needs no Koa). */
export interface KoaAppLike {
  callback(): unknown;
}

/** Koa's own method (public, though its type declarations leave it out) the instrumentation hooks. */
interface HandlesRequests {
  handleRequest(ctx: KoaInboundContext, fnMiddleware: Chain): unknown;
}

type BeginContext = (ctx: KoaInboundContext) => void;
type Marked = KoaInboundContext & { [THROWN]?: number };

interface Hook {
  begins: readonly BeginContext[];
  readonly restore: () => void;
}

/** Where the status of an error thrown by the chain is kept on `ctx`, for every `instrumentKoa()`. */
const THROWN = Symbol('mesh-metrics.koaThrown');
const hooks = new WeakMap<object, Hook>();

function markThrown(ctx: Marked, error: unknown): void {
  try {
    ctx[THROWN] = koaErrorStatus(error);
  } catch {
    // ctx is Koa's own object; a frozen or hostile one only loses the thrown status (the recorder falls back to 499)
  }
}

/** The app's chain, made to note the status of an error it rejects with; one wrapper per chain Koa built. */
function marker(): (fn: Chain) => Chain {
  let last: Chain | undefined;
  let wrapped: Chain | undefined;
  return (fn) => {
    if (fn !== last || wrapped === undefined) {
      last = fn;
      wrapped = (ctx) =>
        fn(ctx).then(undefined, (error: unknown) => {
          markThrown(ctx, error);
          throw error;
        });
    }
    return wrapped;
  };
}

/**
 * Replaces the app's `handleRequest` (an own property, removed again when the last instrumentation is disposed) by
 * one that starts every instrumentation's measurement, then runs Koa's own with the chain wrapped by `marker`.
 */
function install(app: HandlesRequests): Hook {
  const had = Object.prototype.hasOwnProperty.call(app, 'handleRequest');
  const own = had ? app.handleRequest : undefined;
  const original = app.handleRequest;
  const wrap = marker();
  const hook: Hook = {
    begins: [],
    restore: () => {
      if (had) app.handleRequest = own as HandlesRequests['handleRequest'];
      else delete (app as Partial<HandlesRequests>).handleRequest;
    },
  };
  app.handleRequest = function instrumentedHandleRequest(this: HandlesRequests, ctx, fnMiddleware) {
    const begins = hook.begins;
    for (let i = 0; i < begins.length; i++) (begins[i] as BeginContext)(ctx);
    return original.call(this, ctx, wrap(fnMiddleware));
  };
  return hook;
}

/**
 * Measures a Koa app (2 or 3) with no layer in its middleware chain: the same families, labels, route templates and
 * thrown-error statuses as `app.use(koaMeshMetrics())`. Koa's `ctx` (where `@koa/router` leaves the matched route)
 * exists only inside the app, so the measurement starts in the app's `handleRequest`, as each request's context is
 * handed to the chain; every server serving `app.callback()` is measured. Options are those of `koaMeshMetrics()`.
 */
export function instrumentKoa(app: KoaAppLike, options: InboundOptions = {}): Instrumentation {
  const a = app as Partial<HandlesRequests> | null;
  if (typeof a !== 'object' || a === null || typeof a.handleRequest !== 'function') {
    throw new TypeError(`app must be a Koa application, got ${describeValue(app)}`);
  }
  const setup = resolveInboundOptions(options);
  const recorder = koaRecorder(setup, THROWN);
  const excluded = setup.excluded;
  const faults = setup.metrics.faults;
  const begin: BeginContext =
    excluded === null
      ? (ctx) => recorder.begin(ctx.res, ctx)
      : (ctx) => {
          try {
            if (!excluded(ctx.req, ctx.originalUrl)) recorder.begin(ctx.res, ctx);
          } catch {
            faults.internal();
          }
        };
  const hook = hooks.get(app) ?? install(app as unknown as HandlesRequests);
  hooks.set(app, hook);
  hook.begins = [...hook.begins, begin];
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      hook.begins = hook.begins.filter((b) => b !== begin);
      if (hook.begins.length > 0) return;
      hooks.delete(app);
      hook.restore();
    },
  };
}
