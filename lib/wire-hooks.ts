/**
 * What the inbound recorder learns from Node's HTTP objects as a request runs: when the response head is written,
 * how many body bytes go out, how many come in. Node emits no event for any of these, so the kit wraps four methods
 * once per process (installed by the first middleware that needs them, never at import): `writeHead`, `write` and
 * `end` of `ServerResponse.prototype` and `push` of `IncomingMessage.prototype` (the parser hands every received body
 * chunk to `push`). A wrapper calls the original first and then notifies the recorders' listeners: on a response,
 * the recorder's own `close` listener, marked with {@link RECORDER} (so a request costs no second listener); on an
 * incoming message, the listener registered under {@link WIRE_EVENT}. Objects nobody measures cost a property read or
 * two. Nothing is stored on the request or response: the per-request counts live in the recorder's listener closure.
 *
 * The compression middleware of Express (`compression`) and of Koa (`koa-compress`) write the compressed bytes
 * through these same methods, so body sizes are the bytes on the wire, after compression, without chunk framing.
 */
import { Buffer } from 'node:buffer';
import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Marks a recorder's `close` listener on a response: the wrappers notify every `close` listener that has it (its
 * value is the recorder's owner marker). Shared by every copy of the kit in the process.
 */
export const RECORDER: unique symbol = Symbol.for('mesh-metrics.recorder') as never;

/**
 * The listener event of an incoming message (a server's request, an outbound attempt's response), shared by every
 * copy of the kit in the process (so one set of wrappers serves them all).
 */
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

// Versioned: a copy of the kit that found its listeners under another key installs its own wrappers.
const INSTALLED = Symbol.for('mesh-metrics.wire-hooks.2');

type Marked = WireListener & { [RECORDER]?: unknown };

interface Observed {
  _events?: Record<PropertyKey, Marked | Marked[] | undefined>;
  finished?: boolean;
  destroyed?: boolean;
  _hasBody?: boolean;
  /** The head as Node wrote it (empty or `null` until then). */
  _header?: string | null;
  /** What Node will send (or sent) as the `Content-Length`, when it knows. */
  _contentLength?: number | null;
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

/**
 * The `close` listeners of a response that may be recorders': a marked lone listener, or the array of several
 * (each marked one is notified); `undefined` when no recorder measures it.
 */
function recordersOf(target: Observed): Marked | Marked[] | undefined {
  const events = target._events;
  if (events === undefined || events === null) return undefined;
  const close = events['close'];
  return typeof close === 'function' ? (close[RECORDER] === undefined ? undefined : close) : close;
}

function notifyRecorders(l: Marked | Marked[], kind: WireKind, bytes: number): void {
  try {
    if (typeof l === 'function') l(kind, bytes);
    else for (const f of l) if (f[RECORDER] !== undefined) f(kind, bytes);
  } catch {
    // A recorder's listener counts its own faults; nothing reaches the application's write.
  }
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  const n = (chunk as { byteLength?: unknown } | null | undefined)?.byteLength;
  return typeof n === 'number' ? n : 0;
}

/**
 * The bytes of a body given whole to `end()` before the head: Node measured them for the head's `Content-Length`
 * (`_contentLength`, set by `end(chunk)` on a response without a head, in Node 20 to 24), so a string body is not
 * measured twice. Any other value there is not trusted and the chunk is measured here.
 */
function measured(target: Observed, chunk: unknown, encoding: unknown): number {
  const n = target._contentLength;
  return typeof n === 'number' && n >= 0 ? n : byteLength(chunk, encoding);
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

  // Node's writeHead(statusCode, reason, headers) reads an absent argument and an undefined one alike.
  res['writeHead'] = function writeHead_(this: Observed, statusCode: unknown, reason?: unknown, headers?: unknown): unknown {
    const out = writeHead.call(this, statusCode, reason, headers);
    const l = recordersOf(this);
    if (l !== undefined) notifyRecorders(l, HEAD, 0);
    return out;
  };
  res['write'] = function write_(this: Observed, chunk: unknown, encoding?: unknown, cb?: unknown): unknown {
    const open = this.finished !== true && this.destroyed !== true;
    const out = write.call(this, chunk, encoding, cb);
    if (open && this._hasBody !== false) {
      const l = recordersOf(this);
      if (l !== undefined) notifyRecorders(l, RESPONSE_BODY, byteLength(chunk, encoding));
    }
    return out;
  };
  res['end'] = function end_(this: Observed, chunk?: unknown, encoding?: unknown, cb?: unknown): unknown {
    const open = this.finished !== true && this.destroyed !== true;
    const whole = open && !this._header; // the body, if any, is all in this call, before the head
    const out = end.call(this, chunk, encoding, cb);
    if (open && chunk !== undefined && chunk !== null && typeof chunk !== 'function' && this._hasBody !== false) {
      const l = recordersOf(this);
      if (l !== undefined) notifyRecorders(l, RESPONSE_BODY, whole ? measured(this, chunk, encoding) : byteLength(chunk, encoding));
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
