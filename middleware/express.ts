import type { IncomingMessage, ServerResponse } from 'node:http';
import { serverAbandonedStatus } from './abandoned.js';
import { resolveInboundOptions, type InboundOptions, type InboundSetup } from './inbound-options.js';
import { InboundRecorder } from './recorder.js';
import { expressRouteTemplate, type ExpressRequestLike } from './route-template.js';

export { SERVER_ABANDONED_STATUS } from './abandoned.js';

/** An Express 4 or 5 middleware; typed on Node's own request and response so the root entry needs no Express. */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** The per-request recorder of Express requests, shared by {@link meshMetrics} and `instrumentExpress()`. @internal */
export function expressRecorder(setup: InboundSetup): InboundRecorder {
  return new InboundRecorder(
    setup,
    (res, status) => expressRouteTemplate(res.req as ExpressRequestLike, status),
    serverAbandonedStatus,
  );
}

/**
 * Express middleware (Express 4 and 5) recording `mesh_http_server_request_duration_seconds` and
 * `mesh_http_server_requests_in_flight` for every request it sees. Mount it first: `app.use(meshMetrics())`.
 * Options are checked here (a `TypeError` names the bad value); at run time it never throws into a request.
 */
export function meshMetrics(options: InboundOptions = {}): ExpressMiddleware {
  const setup = resolveInboundOptions(options);
  const recorder = expressRecorder(setup);
  const excluded = setup.excluded;
  const faults = setup.metrics.faults;
  return function meshMetricsMiddleware(req, res, next) {
    try {
      if (excluded === null || !excluded(req, (req as ExpressRequestLike).originalUrl ?? req.url ?? '/')) {
        recorder.begin(res, undefined);
      }
    } catch {
      faults.internal();
    }
    next();
  };
}
