import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveInboundOptions, type InboundOptions, type InboundSetup } from './inbound-options.js';
import { InboundRecorder } from './recorder.js';
import { expressRouteTemplate, type ExpressRequestLike } from './route-template.js';

/** An Express 4 or 5 middleware; typed on Node's own request and response so the root entry needs no Express. */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** The status of a response the server abandoned before its end. */
export const SERVER_ABANDONED_STATUS = 500;

/**
 * The status of an unfinished response whose connection the server itself closed: Express's final handler destroys
 * the socket when an error reaches it after the headers went out (as `res.destroy()` without an error does). A client
 * that went away ended its side (`readableEnded`) or reset it (`errored`): then `undefined`, and the recorder records
 * 499. Read only for a response that closed unfinished.
 */
function serverAbandoned(res: ServerResponse): number | undefined {
  const socket = res.socket;
  if (socket === null || socket.readableEnded || socket.errored !== null) return undefined;
  return SERVER_ABANDONED_STATUS;
}

/** The per-request recorder of Express requests, shared by {@link meshMetrics} and `instrumentExpress()`. @internal */
export function expressRecorder(setup: InboundSetup): InboundRecorder {
  return new InboundRecorder(
    setup,
    (res, status) => expressRouteTemplate(res.req as ExpressRequestLike, status),
    serverAbandoned,
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
