/**
 * What an outbound attempt learns from Node's HTTP client while it runs: when the response head arrived and how many
 * body bytes came in on the wire (before axios decompresses them). axios's node adapter says neither. It does write
 * (and, for a body that is not a stream, end) its client request synchronously inside the adapter call, through
 * follow-redirects too, so the kit wraps `write` and `end` of `http.ClientRequest.prototype` once per process:
 * while {@link runWatched} marks an attempt's adapter call, the first client request written is that attempt's.
 * Node's `http.client.request.start` channel comes too late for this (Node 20 publishes it when the request has
 * been sent), and an `AsyncLocalStorage` per attempt turns on promise hooks for the whole process on Node 20
 * (measured 2.4x the CPU per call). A request written outside a marked call (a later redirect hop, a streamed body,
 * the fetch adapter) keeps axios's own figures (see `axios-sizes.ts`).
 */
import { EventEmitter } from 'node:events';
import { ClientRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { installWireHooks, REQUEST_BODY, WIRE_EVENT } from '../lib/wire-hooks.js';

/** One attempt's view of the wire; `headAt` and `received` stay -1 until a response head arrives. */
export class AttemptWire {
  /** `performance.now()` when the (last, after redirects) response head arrived. */
  headAt = -1;
  /** Body bytes of that response received so far, as they arrived (compressed when it was). */
  received = -1;
}

/** The attempt whose adapter call is running right now (synchronously), if any. */
let current: AttemptWire | undefined;
const addListener = EventEmitter.prototype.on;

const INSTALLED = Symbol.for('mesh-metrics.client-hooks');

function claim(request: ClientRequest): void {
  const wire = current as AttemptWire;
  current = undefined; // one request per attempt: the first one it writes
  try {
    request.once('response', (res: IncomingMessage) => {
      wire.headAt = performance.now();
      wire.received = 0;
      // The push wrapper of `wire-hooks.ts` reports every body chunk the parser hands to this response.
      addListener.call(res, WIRE_EVENT, (kind?: unknown, bytes?: number) => {
        if (kind === REQUEST_BODY) wire.received += bytes as number;
      });
    });
  } catch {
    // a request we cannot watch keeps axios's own figures
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Installs the client request wrappers and the wire hooks, once per process. */
export function watchClientRequests(): void {
  installWireHooks();
  const proto = ClientRequest.prototype as unknown as Record<PropertyKey, unknown>;
  if (proto[INSTALLED] === true) return;
  Object.defineProperty(proto, INSTALLED, { value: true });
  for (const name of ['write', 'end'] as const) {
    const original = proto[name] as Method;
    proto[name] = function (this: ClientRequest, ...args: unknown[]): unknown {
      if (current !== undefined) claim(this);
      return original.apply(this, args);
    };
  }
}

/** Runs `fn` (one attempt's adapter call) so that the client request it starts synchronously reports into `wire`. */
export function runWatched<T>(wire: AttemptWire, fn: () => Promise<T>): Promise<T> {
  const outer = current;
  current = wire;
  try {
    return fn();
  } finally {
    current = outer;
  }
}
