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

/** `text/event-stream` at the start of a `Content-Type`, in any case, after any white space. */
const EVENT_STREAM = /^\s*text\/event-stream/i;

/** Whether a response is a Server-Sent-Events stream (`Content-Type: text/event-stream`). */
export function isEventStream(res: ServerResponse): boolean {
  const type = getHeader.call(res, 'content-type');
  return typeof type === 'string' && EVENT_STREAM.test(type);
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
