import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { describeValue } from '../lib/options.js';
import { addEntryHook, type EntryWrapper } from './entry-hook.js';
import { expressRecorder } from './express.js';
import { resolveInboundOptions, type InboundOptions } from './inbound-options.js';
import type { ExpressRequestLike } from './route-template.js';
import { onServerRequests, type BeginRequest } from './server-channel.js';

/** What an `instrument…()` call hands back: `dispose()` stops measuring (later requests are left alone). */
export interface Instrumentation {
  dispose(): void;
}

/** What `instrumentExpress()` measures: an Express 4 or 5 app, or an `http`/`https` server. */
export type ExpressTarget = HttpServer | HttpsServer | ((req: never, res: never, next?: never) => void);

type Handle = (this: unknown, req: IncomingMessage, res: ServerResponse, next?: unknown) => unknown;

function isExpressApp(value: unknown): boolean {
  const a = value as { handle?: unknown; set?: unknown } | null;
  return typeof value === 'function' && typeof a?.handle === 'function' && typeof a.set === 'function';
}

/** Express's `app.handle`, made to start every instrumentation of the app first. */
const beforeHandle: EntryWrapper<BeginRequest> = (original, hook) =>
  function instrumentedHandle(this: unknown, req: IncomingMessage, res: ServerResponse, next?: unknown): unknown {
    const begins = hook.begins;
    for (let i = 0; i < begins.length; i++) (begins[i] as BeginRequest)(req, res);
    return (original as Handle).call(this, req, res, next);
  } as (...args: never[]) => unknown;

/**
 * Measures an Express app (4 or 5) with no layer in its middleware chain: the same families, labels, route
 * templates, statuses, exclusions and exemplars as `app.use(meshMetrics())`. Given the app, it hooks the app's own
 * entry (`app.handle`, which every server serving the app calls, and a parent app calls for a mounted sub-app): the
 * point where a first middleware would start. Given an `http`/`https` server, it measures that server's requests from
 * Node's `http.server.request.start` diagnostics channel, before the server's `request` listeners run (so a tracer's
 * span is not yet active: exemplars come from the `traceparent` header only). Other apps and servers in the process
 * are not measured. Options are those of `meshMetrics()`, checked here (a `TypeError` names the bad value).
 */
export function instrumentExpress(target: ExpressTarget, options: InboundOptions = {}): Instrumentation {
  const isServer = target instanceof HttpServer || target instanceof HttpsServer;
  if (!isServer && !isExpressApp(target)) {
    throw new TypeError(`target must be an Express app or an http/https server, got ${describeValue(target)}`);
  }
  const setup = resolveInboundOptions(options);
  const recorder = expressRecorder(setup);
  const excluded = setup.excluded;
  const faults = setup.metrics.faults;
  // The hot path, chosen once: with nothing excluded, a request is one call into the recorder (which never throws).
  const begin: BeginRequest =
    excluded === null
      ? (_req, res) => recorder.begin(res, undefined)
      : (req, res) => {
          try {
            if (!excluded(req, (req as ExpressRequestLike).originalUrl ?? req.url ?? '/')) recorder.begin(res, undefined);
          } catch {
            faults.internal();
          }
        };
  const dispose = isServer ? onServerRequests(target, begin) : addEntryHook(target, 'handle', begin, beforeHandle);
  return { dispose };
}
