/**
 * What the inbound recorder learns from Node's HTTP objects as a request runs: when the response head is written,
 * how many body bytes go out, how many come in. Node emits no event for any of these, so the kit wraps four methods
 * once per process (installed by the first middleware that needs them, never at import): `writeHead`, `write` and
 * `end` of `ServerResponse.prototype` and `push` of `IncomingMessage.prototype` (the parser hands every received body
 * chunk to `push`). A wrapper calls the original first and then notifies the one listener a recorder registered on
 * that object under {@link WIRE_EVENT}; objects nobody measures cost one property read. Nothing is stored on the
 * request or response: the per-request counts live in the recorder's listener closure.
 *
 * The compression middleware of Express (`compression`) and of Koa (`koa-compress`) write the compressed bytes
 * through these same methods, so body sizes are the bytes on the wire, after compression, without chunk framing.
 */
import { Buffer } from 'node:buffer';
import { IncomingMessage, ServerResponse } from 'node:http';

/** The listener event, shared by every copy of the kit in the process (so one set of wrappers serves them all). */
export const WIRE_EVENT: unique symbol = Symbol.for('mesh-metrics.wire') as never;

// The kinds are symbols shared by every copy of the kit (so one copy's wrappers can tell another's listeners), and
// never equal to anything Node passes to a `close` listener (nothing, or a socket's `hadError` boolean).

/** The response head was written. */
export const HEAD: unique symbol = Symbol.for('mesh-metrics.wire.head') as never;
/** Response body bytes were handed to the socket (second argument: how many). */
export const RESPONSE_BODY: unique symbol = Symbol.for('mesh-metrics.wire.response-body') as never;
/**
 * Body bytes of an incoming message arrived (second argument: how many): a server's request, or, for an outbound
 * attempt, the response its client request got.
 */
export const REQUEST_BODY: unique symbol = Symbol.for('mesh-metrics.wire.request-body') as never;

/** An upgraded connection's handshake was written (second argument: its status, e.g. 101). */
export const UPGRADE_HEAD: unique symbol = Symbol.for('mesh-metrics.wire.upgrade-head') as never;

/** One of the notifications above. */
export type WireKind = typeof HEAD | typeof RESPONSE_BODY | typeof REQUEST_BODY | typeof UPGRADE_HEAD;

/** What a recorder registers under {@link WIRE_EVENT}; also its `close` listener, called with no kind. */
export type WireListener = (kind?: WireKind | boolean, bytes?: number) => void;

const INSTALLED = Symbol.for('mesh-metrics.wire-hooks');

interface Observed {
  _events?: Record<symbol, WireListener | WireListener[] | undefined>;
  finished?: boolean;
  destroyed?: boolean;
  _hasBody?: boolean;
}

function listenerOf(target: Observed): WireListener | WireListener[] | undefined {
  const events = target._events;
  return events === undefined || events === null ? undefined : events[WIRE_EVENT];
}

function notify(l: WireListener | WireListener[], kind: WireKind, bytes: number): void {
  try {
    if (typeof l === 'function') l(kind, bytes);
    else for (const f of l) f(kind, bytes);
  } catch {
    // A recorder's listener counts its own faults; nothing reaches the application's write.
  }
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  const n = (chunk as { byteLength?: unknown } | null | undefined)?.byteLength;
  return typeof n === 'number' ? n : 0;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/**
 * Watches a request handed over from the server's `upgrade` event (its response object is never written): the
 * first bytes written on the connection are the handshake's head (`HTTP/1.1 101 …`, or a refusal such as 400), and
 * the connection's `close` ends the request. The socket's `write` is wrapped for that one write only.
 */
export function watchUpgrade(req: IncomingMessage, listener: WireListener): void {
  const socket = req.socket as unknown as ({ write: Method; once(e: string, f: () => void): void }) | null;
  if (socket === null || socket === undefined) return;
  const write = socket.write;
  socket.write = function firstWrite(this: unknown, ...args: unknown[]): unknown {
    socket.write = write;
    const head = args[0];
    const text = typeof head === 'string' ? head : Buffer.isBuffer(head) ? head.toString('latin1', 0, 16) : '';
    const m = STATUS_LINE.exec(text);
    notify(listener, UPGRADE_HEAD, m === null ? 101 : Number(m[1]));
    return write.apply(this, args);
  };
  socket.once('close', () => listener());
}

/** Installs the four wrappers once per process; later calls (and other copies of the kit) do nothing. */
export function installWireHooks(): void {
  const res = ServerResponse.prototype as unknown as Record<PropertyKey, unknown>;
  if (res[INSTALLED] === true) return;
  const writeHead = res['writeHead'] as Method;
  const write = res['write'] as Method;
  const end = res['end'] as Method;
  const req = IncomingMessage.prototype as unknown as Record<PropertyKey, unknown>;
  const push = req['push'] as Method;

  res['writeHead'] = function writeHead_(this: Observed, ...args: unknown[]): unknown {
    const out = writeHead.apply(this, args);
    const l = listenerOf(this);
    if (l !== undefined) notify(l, HEAD, 0);
    return out;
  };
  res['write'] = function write_(this: Observed, chunk: unknown, encoding?: unknown, cb?: unknown): unknown {
    const open = this.finished !== true && this.destroyed !== true;
    const out = write.call(this, chunk, encoding, cb);
    if (open && this._hasBody !== false) {
      const l = listenerOf(this);
      if (l !== undefined) notify(l, RESPONSE_BODY, byteLength(chunk, encoding));
    }
    return out;
  };
  res['end'] = function end_(this: Observed, chunk?: unknown, encoding?: unknown, cb?: unknown): unknown {
    const open = this.finished !== true && this.destroyed !== true;
    const out = end.call(this, chunk, encoding, cb);
    if (open && chunk !== undefined && chunk !== null && typeof chunk !== 'function' && this._hasBody !== false) {
      const l = listenerOf(this);
      if (l !== undefined) notify(l, RESPONSE_BODY, byteLength(chunk, encoding));
    }
    return out;
  };
  req['push'] = function push_(this: Observed, chunk: unknown, encoding?: unknown): unknown {
    if (chunk !== null && chunk !== undefined) {
      const l = listenerOf(this);
      if (l !== undefined) notify(l, REQUEST_BODY, byteLength(chunk, encoding));
    }
    return push.call(this, chunk, encoding);
  };
  Object.defineProperty(res, INSTALLED, { value: true });
}
