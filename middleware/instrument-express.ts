import { Server as NetServer } from 'node:net';
import { describeValue } from '../lib/options.js';
import { expressRecorder } from './express.js';
import { resolveInboundOptions, type InboundOptions } from './inbound-options.js';
import { onServerRequests, type BeginRequest } from './server-channel.js';

/** What an `instrument…()` call hands back: `dispose()` stops measuring (later requests are left alone). */
export interface Instrumentation {
  dispose(): void;
}

/** What `instrumentExpress()` measures: an Express 4 or 5 app, or the HTTP server serving it. */
export type ExpressTarget = NetServer | ((req: never, res: never, next?: never) => void);

function isExpressApp(value: unknown): boolean {
  const a = value as { handle?: unknown; use?: unknown } | null;
  return typeof value === 'function' && typeof a?.handle === 'function' && typeof a.use === 'function';
}

/**
 * Measures an Express app (4 or 5) with no layer in its middleware chain: the same families, labels and route
 * templates as `app.use(meshMetrics())`, from Node's `http.server.request.start` diagnostics channel. `target` is
 * the app (every server whose `request` listener it is: `app.listen()`, `http.createServer(app)`, supertest), or
 * the `http`/`https` server itself (an app behind a wrapper function). Other servers in the process are not
 * measured. Options are those of `meshMetrics()`, checked here (a `TypeError` names the bad value).
 */
export function instrumentExpress(target: ExpressTarget, options: InboundOptions = {}): Instrumentation {
  if (!(target instanceof NetServer) && !isExpressApp(target)) {
    throw new TypeError(`target must be an Express app or an http server, got ${describeValue(target)}`);
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
            if (!excluded(req, req.url ?? '/')) recorder.begin(res, undefined);
          } catch {
            faults.internal();
          }
        };
  return { dispose: onServerRequests(target, begin) };
}
