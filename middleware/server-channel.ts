/**
 * The one subscription of this package to Node's `http.server.request.start` diagnostics channel, shared by every
 * `instrumentExpress()`. Node publishes it for every request of every HTTP/1 server in the process (Node 20, 22 and
 * 24 alike: `{ request, response, socket, server }`, just before the server's `request` event), so each request is
 * routed here to the instrumentations of its server: servers given directly, and servers whose `request` listener is
 * an instrumented app. That lookup is made once per server (and again only after an instrumentation is added or
 * disposed), so a request costs one WeakMap read. `http.server.response.finish` is not used: Node publishes nothing
 * for a response that closes unfinished (a client abort, a server-side destroy), so the recorder's one `close`
 * listener, which sees both, stays the single place a request is recorded.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The channel Node publishes at the start of every inbound request. */
export const REQUEST_START_CHANNEL = 'http.server.request.start';

/** Starts measuring one request of an instrumented server; never throws. */
export type BeginRequest = (req: IncomingMessage, res: ServerResponse) => void;

interface StartMessage {
  readonly request?: IncomingMessage;
  readonly response?: ServerResponse;
  readonly server?: { listeners?(event: 'request'): unknown[] };
}

interface Resolved {
  readonly generation: number;
  readonly begins: readonly BeginRequest[];
}

const NONE: readonly BeginRequest[] = Object.freeze([]);

/** Instrumentations by what they were given: a server, or an app that is a server's `request` listener. */
const byTarget = new WeakMap<object, readonly BeginRequest[]>();
/** What each server that has had a request resolves to, valid while `generation` is unchanged. */
const byServer = new WeakMap<object, Resolved>();
let generation = 0;
let live = 0;

function resolve(server: NonNullable<StartMessage['server']>): readonly BeginRequest[] {
  let begins = byTarget.get(server) ?? NONE;
  const listeners = typeof server.listeners === 'function' ? server.listeners('request') : [];
  for (const l of listeners) {
    const more = typeof l === 'function' ? byTarget.get(l) : undefined;
    if (more !== undefined) begins = begins.length === 0 ? more : [...begins, ...more];
  }
  byServer.set(server, { generation, begins });
  return begins;
}

function onRequestStart(message: unknown): void {
  // A throw here would reach the process as an uncaught exception (Node rethrows subscriber errors on next tick).
  try {
    const m = message as StartMessage;
    const server = m.server;
    if (server === undefined || m.request === undefined || m.response === undefined) return;
    const known = byServer.get(server);
    const begins = known !== undefined && known.generation === generation ? known.begins : resolve(server);
    for (let i = 0; i < begins.length; i++) (begins[i] as BeginRequest)(m.request, m.response);
  } catch {
    // Nothing to count into here: every BeginRequest counts its own faults; resolving a server does not throw.
  }
}

/**
 * Routes the requests of `target` (a server, or an app serving as servers' `request` listener) to `begin`, until
 * the returned function is called.
 */
export function onServerRequests(target: object, begin: BeginRequest): () => void {
  byTarget.set(target, [...(byTarget.get(target) ?? NONE), begin]);
  generation++;
  if (live++ === 0) subscribe(REQUEST_START_CHANNEL, onRequestStart);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const rest = (byTarget.get(target) ?? NONE).filter((b) => b !== begin);
    if (rest.length === 0) byTarget.delete(target);
    else byTarget.set(target, rest);
    generation++;
    if (--live === 0) unsubscribe(REQUEST_START_CHANNEL, onRequestStart);
  };
}
