/**
 * The one subscription of this package to Node's `http.server.request.start` diagnostics channel, shared by every
 * `instrumentExpress(server)`. Node publishes it for every request of every HTTP/1 server in the process (Node 20,
 * 22 and 24 alike: `{ request, response, socket, server }`, just before the server emits `request`), so a request
 * costs one WeakMap read to find its server's instrumentations, and nothing more for a server nobody instrumented.
 * `http.server.response.finish` is not used: Node publishes nothing for a response that closes unfinished (a client
 * abort, a server-side destroy), so the recorder's one `close` listener, which sees both, stays the single place a
 * request is recorded.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The channel Node publishes at the start of every inbound request. */
export const REQUEST_START_CHANNEL = 'http.server.request.start';

/** Starts measuring one request; never throws. */
export type BeginRequest = (req: IncomingMessage, res: ServerResponse) => void;

interface StartMessage {
  readonly request?: IncomingMessage;
  readonly response?: ServerResponse;
  readonly server?: object;
}

const byServer = new WeakMap<object, readonly BeginRequest[]>();
let live = 0;

function onRequestStart(message: unknown): void {
  // A throw here would reach the process as an uncaught exception (Node rethrows subscriber errors on next tick).
  try {
    const m = message as StartMessage;
    const begins = m.server === undefined ? undefined : byServer.get(m.server);
    if (begins === undefined || m.request === undefined || m.response === undefined) return;
    for (let i = 0; i < begins.length; i++) (begins[i] as BeginRequest)(m.request, m.response);
  } catch {
    // Nothing to count into here: every BeginRequest counts its own faults.
  }
}

/** Routes the requests of `server` to `begin`, until the returned function is called. */
export function onServerRequests(server: object, begin: BeginRequest): () => void {
  byServer.set(server, [...(byServer.get(server) ?? []), begin]);
  if (live++ === 0) subscribe(REQUEST_START_CHANNEL, onRequestStart);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const rest = (byServer.get(server) ?? []).filter((b) => b !== begin);
    if (rest.length === 0) byServer.delete(server);
    else byServer.set(server, rest);
    if (--live === 0) unsubscribe(REQUEST_START_CHANNEL, onRequestStart);
  };
}
