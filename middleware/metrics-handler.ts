import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  checkScrapePath,
  createScraper,
  isPieces,
  piecesLength,
  replyStream,
  sendInternalError,
  sendReply,
  type ScrapeOptions,
} from './scrape.js';
import { routedPathMatcher } from './path-match.js';

/** Options of {@link koaMetricsHandler}. */
export interface KoaMetricsHandlerOptions extends ScrapeOptions {
  /**
   * The path it answers on (`GET` and `HEAD`), compared as `@koa/router` and the middleware's `exclude` compare
   * (case-insensitive, one trailing slash ignored); every other request is passed on.
   * @defaultValue `"/metrics"`
   */
  readonly path?: string;
}

/** The parts of a Koa 2 or 3 context the scrape handler uses. */
export interface KoaScrapeContext {
  readonly req: IncomingMessage;
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

/** An Express 4 or 5 request handler. */
export type ExpressHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The Express (4 and 5) scrape handler: `app.get('/metrics', metricsHandler())`. Serves the registry in its own
 * format, or in the protobuf format (native histograms included) to a scrape that prefers it, gzipped when accepted; `bearerToken` and `authorize` guard it. A collector that throws gives `500` with a
 * short message and the process keeps serving.
 */
export function metricsHandler(options: ScrapeOptions = {}): ExpressHandler {
  const scrape = createScraper(options);
  return function metricsRequestHandler(req, res) {
    scrape(req).then(
      (reply) => sendReply(req, res, reply),
      () => sendInternalError(res),
    );
  };
}

/**
 * The Koa (2 and 3) scrape middleware: `app.use(koaMetricsHandler())` answers `GET`/`HEAD` on `path` (default
 * `/metrics`) and passes every other request on. Same format, gzip, auth and error handling as
 * {@link metricsHandler}.
 */
export function koaMetricsHandler(
  options: KoaMetricsHandlerOptions = {},
): (ctx: KoaScrapeContext, next: () => Promise<unknown>) => Promise<void> {
  const scrape = createScraper(options); // checks that options is an object before its path is read
  // matched as the routers (and the middleware's `exclude`) match: case-insensitive, a trailing slash ignored
  const isScrapePath = routedPathMatcher([checkScrapePath(options.path ?? '/metrics')]);
  return async function koaMetricsMiddleware(ctx, next) {
    if (!isScrapePath(ctx.path) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    const reply = await scrape(ctx.req);
    ctx.status = reply.status;
    for (const name of Object.keys(reply.headers)) ctx.set(name, reply.headers[name] as string);
    const body = reply.body;
    if (isPieces(body)) {
      ctx.body = replyStream(body); // Koa drops Content-Length for a stream body: set it after
      ctx.set('Content-Length', String(piecesLength(body)));
    } else {
      ctx.body = body;
    }
  };
}
