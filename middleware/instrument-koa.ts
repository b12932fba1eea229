import { describeValue } from '../lib/options.js';
import { addEntryHook, type EntryWrapper } from './entry-hook.js';
import { resolveInboundOptions, type InboundOptions } from './inbound-options.js';
import type { Instrumentation } from './instrument-express.js';
import { koaErrorStatus, koaRecorder, watchBody, type KoaInboundContext, type KoaLabelContext } from './koa.js';

/** A Koa 2 or 3 application (typed loosely, so the root entry needs no Koa). */
export interface KoaAppLike {
  callback(): unknown;
}

/** The composed middleware chain Koa hands to `handleRequest`. */
type Chain = (ctx: KoaInboundContext) => PromiseLike<unknown>;
/** Koa's own `handleRequest(ctx, fnMiddleware)` (public, though its type declarations leave it out). */
type HandleRequest = (this: unknown, ctx: KoaInboundContext, fnMiddleware: Chain) => unknown;
type BeginContext = (ctx: KoaInboundContext) => void;

/** Where the status of an error thrown by the chain is kept on `ctx`, for every `instrumentKoa()`. */
const THROWN = Symbol('mesh-metrics.koaThrown');

function markThrown(ctx: KoaInboundContext, error: unknown): void {
  try {
    (ctx as KoaInboundContext & Record<symbol, number>)[THROWN] = koaErrorStatus(error);
  } catch {
    // A frozen or hostile ctx only loses the thrown status (the recorder falls back to 499 if it closes unfinished).
  }
}

/** After the chain: a stream body that fails later is the server's fault (see `watchBody`). */
function watchResult(ctx: KoaInboundContext): void {
  try {
    watchBody(ctx, THROWN);
  } catch {
    // as markThrown: a hostile ctx only loses the mark
  }
}

/**
 * The chain, made to note the status of an error it rejects with, and to watch a stream body it leaves (what
 * `koaMeshMetrics()` sees when first).
 */
function marking(fn: Chain): Chain {
  return (ctx) =>
    fn(ctx).then(
      (value) => {
        watchResult(ctx);
        return value;
      },
      (error: unknown) => {
        markThrown(ctx, error);
        throw error;
      },
    );
}

/**
 * Koa's `handleRequest`, made to start every instrumentation of the app first and to hand Koa the marking chain. Its
 * wrapper is made once per chain Koa composed (once per `app.callback()`): the last one is compared first.
 */
const beforeHandleRequest: EntryWrapper<BeginContext> = (original, hook) => {
  const wrapped = new WeakMap<Chain, Chain>();
  let chain: Chain | undefined;
  let marked: Chain | undefined;
  return function instrumentedHandleRequest(this: unknown, ctx: KoaInboundContext, fnMiddleware: Chain): unknown {
    const begins = hook.begins;
    for (let i = 0; i < begins.length; i++) (begins[i] as BeginContext)(ctx);
    if (fnMiddleware !== chain || marked === undefined) {
      chain = fnMiddleware;
      marked = wrapped.get(fnMiddleware);
      if (marked === undefined) wrapped.set(fnMiddleware, (marked = marking(fnMiddleware)));
    }
    return (original as HandleRequest).call(this, ctx, marked);
  } as (...args: never[]) => unknown;
};

/**
 * Measures a Koa app (2 or 3) with no layer in its middleware chain: the same families, labels, route templates,
 * statuses (a thrown error's included), exclusions and exemplars as `app.use(koaMeshMetrics())`. It hooks the app's
 * own `handleRequest`, where Koa hands each request's `ctx` to the chain (`ctx`, where `@koa/router` leaves the
 * matched route, exists only inside the app), so every server serving `app.callback()` is measured and nothing
 * else. Options are those of `koaMeshMetrics()`, checked here (a `TypeError` names the bad value).
 */
export function instrumentKoa(app: KoaAppLike, options: InboundOptions<KoaLabelContext> = {}): Instrumentation {
  const a = app as { handleRequest?: unknown } | null;
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
  return { dispose: addEntryHook(app, 'handleRequest', begin, beforeHandleRequest) };
}
