import type { IncomingHttpHeaders } from 'node:http';
import type { MetricsRegistry as Registry } from '../lib/metrics-registry.js';
import { HistogramFamily } from '../lib/histogram.js';
import { describeValue } from '../lib/options.js';
import { gzipProtobuf, protobufPieces, PROTOBUF_CONTENT_TYPE } from '../lib/protobuf-exposition.js';

const PROTOBUF_TYPE = 'application/vnd.google.protobuf';
const PROTOBUF_PROTO = 'io.prometheus.client.metricfamily';
/** The other media types a scrape handler serves, whose preference can outrank protobuf. */
const OTHERS = new Set(['application/openmetrics-text', 'text/plain', 'text/*', '*/*']);

/**
 * Whether the scrape asks for the delimited protobuf exposition: `Accept` lists
 * `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited` with a q above 0,
 * and no text type the handler also serves is preferred to it (Prometheus with native histograms on sends exactly
 * this, at q=1, ahead of OpenMetrics and text).
 */
export function acceptsProtobuf(headers: IncomingHttpHeaders): boolean {
  const header = headers.accept;
  if (typeof header !== 'string') return false;
  let protobufQ = 0;
  let otherQ = 0;
  for (const range of header.split(',')) {
    const [type = '', ...rawParams] = range.split(';');
    const mediaType = type.trim().toLowerCase();
    const params = new Map<string, string>();
    for (const p of rawParams) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
    const qText = params.get('q');
    const q = qText === undefined ? 1 : Number(qText);
    if (!(q >= 0)) continue;
    if (mediaType === PROTOBUF_TYPE) {
      if (params.get('proto')?.toLowerCase() === PROTOBUF_PROTO && params.get('encoding')?.toLowerCase() === 'delimited') {
        protobufQ = Math.max(protobufQ, q);
      }
    } else if (OTHERS.has(mediaType)) {
      otherQ = Math.max(otherQ, q);
    }
  }
  return protobufQ > 0 && protobufQ >= otherQ;
}

/** When a scrape handler answers protobuf: see `ScrapeOptions.protobuf`. */
export type ProtobufMode = boolean | 'auto';

/** Checks the `protobuf` scrape option, throwing a `TypeError` naming a bad value. */
export function checkProtobufMode(value: unknown): ProtobufMode {
  if (value === undefined) return 'auto';
  if (value === true || value === false || value === 'auto') return value;
  throw new TypeError(`protobuf must be true, false or "auto", got ${describeValue(value)}`);
}

/** Whether the registry holds a kit histogram family with native histograms on. */
export function hasNativeHistograms(registry: Registry): boolean {
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (metric instanceof HistogramFamily && metric.nativeHistograms !== null) return true;
  }
  return false;
}

/** Whether this scrape gets protobuf: it prefers protobuf, and the mode allows it for this registry. */
export function servesProtobuf(
  mode: ProtobufMode,
  registry: Registry,
  headers: IncomingHttpHeaders,
): boolean {
  if (mode === false || !acceptsProtobuf(headers)) return false;
  return mode === true || hasNativeHistograms(registry);
}

/** What a scrape handler sends for a protobuf scrape: the body and its headers (no status, always 200). */
export interface ProtobufBody {
  readonly headers: Record<string, string>;
  readonly body: Buffer | readonly Buffer[];
}

/**
 * Renders the registry's protobuf exposition for one scrape: gzipped while it is encoded when `gzipped`, otherwise
 * as pieces for the response to write one after another. Rejects when a collector does.
 */
export async function protobufBody(
  registry: Registry,
  gzipped: boolean,
  compress: boolean,
): Promise<ProtobufBody> {
  const headers: Record<string, string> = {
    'Content-Type': PROTOBUF_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    Vary: compress ? 'Accept, Accept-Encoding' : 'Accept',
  };
  if (!gzipped) return { headers, body: await protobufPieces(registry) };
  return { headers: { ...headers, 'Content-Encoding': 'gzip' }, body: await gzipProtobuf(registry) };
}
