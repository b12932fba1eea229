import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { OutgoingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { UNMATCHED_ROUTE } from '../lib/http-server-metrics.js';
import type { InboundSetup } from './inbound-options.js';

/** The `status_code` of a request whose client went away before the response's last byte. */
export const CLIENT_CLOSED_STATUS = 499;

/** OpenTelemetry naming: the `error_type` of a request whose client went away before the response's last byte. */
export const OTEL_ABORTED_ERROR = 'aborted';

const getHeader = OutgoingMessage.prototype.getHeader as (this: ServerResponse, name: string) => OutgoingHttpHeader | undefined;

const EVENT_STREAM = 'text/event-stream';

/**
 * Whether a `Content-Type` starts with `text/event-stream`, in any case, after any white space a header value can
 * hold (tab, space, no-break space). Compared by character codes, its sixth (`e`) first: most types differ there
 * (`text/html`, `text/plain`, `application/…`), and a regular expression's test cost about twice as much.
 */
export function isEventStreamType(type: unknown): boolean {
  if (typeof type !== 'string') return false;
  const n = type.length;
  let i = 0;
  while (i < n) {
    const c = type.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0xa0) break;
    i++;
  }
  if (n - i < EVENT_STREAM.length || (type.charCodeAt(i + 5) | 0x20) !== 0x65) return false;
  for (let k = 0; k < EVENT_STREAM.length; k++) {
    const c = type.charCodeAt(i + k);
    // ASCII letters compared in lower case; the other characters of the name must match exactly
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== EVENT_STREAM.charCodeAt(k)) return false;
  }
  return true;
}

/** Whether a response is a Server-Sent-Events stream (`Content-Type: text/event-stream`). */
export function isEventStream(res: ServerResponse): boolean {
  return isEventStreamType(getHeader.call(res, 'content-type'));
}

/** OpenTelemetry's `url.scheme`: `https` on a TLS socket, else `http`. */
export function urlScheme(req: IncomingMessage | undefined): string {
  return (req?.socket as (Socket & { encrypted?: boolean }) | undefined)?.encrypted === true ? 'https' : 'http';
}

/** The request's `Content-Length` as a number, or -1 when absent or not a plain decimal. */
export function contentLength(req: IncomingMessage | undefined): number {
  const v = req?.headers['content-length'];
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return -1;
  return Number(v);
}

/**
 * The OpenTelemetry label values of a finished request, before the custom ones: method, route (empty when none
 * matched), status code (empty when none was sent), scheme and `error_type` (the status for 5xx, `aborted` for a
 * client that left; empty otherwise).
 */
export function otelValues(method: string, route: string, status: number, headSent: boolean, res: ServerResponse): unknown[] {
  const aborted = status === CLIENT_CLOSED_STATUS && !res.writableFinished;
  const code = aborted ? (headSent ? res.statusCode : '') : status;
  const error = aborted ? OTEL_ABORTED_ERROR : status >= 500 ? String(status) : '';
  return [method, route === UNMATCHED_ROUTE ? '' : route, code, urlScheme(res.req), error];
}

/**
 * Appends the custom label values (in `names` order) the user's function gives for `source`; a throw, or a result
 * that is not a plain object (a Promise, a string), counts as `internal` and gives empty values.
 */
export function appendCustomValues(setup: InboundSetup, source: unknown, into: unknown[]): void {
  const custom = setup.customLabels;
  if (custom === undefined) return;
  let out: unknown;
  try {
    out = custom.values(source);
  } catch {
    out = undefined;
  }
  const usable = typeof out === 'object' && out !== null && typeof (out as { then?: unknown }).then !== 'function';
  if (!usable) setup.metrics.faults.internal();
  let odd = false;
  for (const name of custom.names) {
    const v = usable ? (out as Record<string, unknown>)[name] : undefined;
    const plain = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    if (!plain && v !== undefined && v !== null) odd = true;
    into.push(plain ? v : '');
  }
  if (odd) setup.metrics.faults.internal();
}
