import { createRequire } from 'node:module';
import type { MetricsRegistry as Registry } from './metrics-registry.js';
import type { HistogramSeries } from './histogram.js';

/** The OpenMetrics content type, the same in both clients. */
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** OpenMetrics caps an exemplar's label names and values, together, at this many characters. */
export const EXEMPLAR_MAX_CHARACTERS = 128;

const HEX2 = /^[0-9a-f]{2}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const SAMPLED = 0x01;

/**
 * The trace id of a W3C `traceparent` header (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), when the
 * header is well formed, its ids are not all zeros and its flags say the trace is sampled (so an exemplar always
 * points at a trace that was recorded). Version `ff` and upper-case hex are invalid; a later version may append
 * fields after a `-`. Anything else, including several headers at once, gives `undefined`.
 */
export function traceIdFromTraceparent(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length < 55) return undefined;
  const h = header.trim();
  if (h.length < 55 || h[2] !== '-' || h[35] !== '-' || h[52] !== '-') return undefined;
  const version = h.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff') return undefined;
  if (version === '00' ? h.length !== 55 : h.length > 55 && h[55] !== '-') return undefined;
  const traceId = h.slice(3, 35);
  const parentId = h.slice(36, 52);
  const flags = h.slice(53, 55);
  if (!HEX32.test(traceId) || traceId === ZERO_TRACE) return undefined;
  if (!HEX16.test(parentId) || parentId === ZERO_SPAN || !HEX2.test(flags)) return undefined;
  return (parseInt(flags, 16) & SAMPLED) === SAMPLED ? traceId : undefined;
}

/** What the kit uses of `@opentelemetry/api`, an optional package (not a dependency) loaded on first need. */
interface OtelApi {
  trace: { getActiveSpan(): { spanContext(): { traceId: string; spanId: string; traceFlags: number } } | undefined };
  isSpanContextValid(context: { traceId: string; spanId: string; traceFlags: number }): boolean;
}

let otelApi: OtelApi | null | undefined;

/** `@opentelemetry/api` when it can be loaded from here, else `null`; tried once. */
function loadOtel(): OtelApi | null {
  if (otelApi !== undefined) return otelApi;
  try {
    const api = createRequire(import.meta.url)('@opentelemetry/api') as Partial<OtelApi>;
    otelApi = typeof api.trace?.getActiveSpan === 'function' && typeof api.isSpanContextValid === 'function' ? (api as OtelApi) : null;
  } catch {
    otelApi = null;
  }
  return otelApi;
}

/** The trace id of the active OpenTelemetry span when it is valid and sampled, else `undefined`. */
export function activeSpanTraceId(): string | undefined {
  const api = loadOtel();
  if (api === null) return undefined;
  try {
    const context = api.trace.getActiveSpan()?.spanContext();
    if (context === undefined || !api.isSpanContextValid(context) || (context.traceFlags & SAMPLED) !== SAMPLED) {
      return undefined;
    }
    return context.traceId;
  } catch {
    return undefined;
  }
}

/**
 * Reads the trace id for one observation: the active OpenTelemetry span's (when `@opentelemetry/api` is installed
 * and a span is active), else the given `traceparent` header's.
 */
export type TraceIdReader = (traceparent: unknown) => string | undefined;

function readTraceId(traceparent: unknown): string | undefined {
  return activeSpanTraceId() ?? traceIdFromTraceparent(traceparent);
}

function readTraceparentOnly(traceparent: unknown): string | undefined {
  return traceIdFromTraceparent(traceparent);
}

/**
 * Chosen once, when a middleware or interceptor is built: a {@link TraceIdReader} when the registry renders
 * OpenMetrics (the only format that carries exemplars), else `undefined`, so that the per-request path does no
 * exemplar work at all.
 */
export function exemplarTraceReader(registry: Registry): TraceIdReader | undefined {
  if ((registry.contentType as string) !== OPENMETRICS_CONTENT_TYPE) return undefined;
  return loadOtel() === null ? readTraceparentOnly : readTraceId;
}

/** The number of characters OpenMetrics counts for an exemplar's label set (names and values, in code points). */
export function exemplarCharacters(labels: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const [name, value] of Object.entries(labels)) {
    for (const _ of name) n++;
    for (const _ of value) n++;
  }
  return n;
}

/**
 * Observes `seconds` on a histogram series, with a `{trace_id}` exemplar when `traceId` is given and the label set
 * fits OpenMetrics' {@link EXEMPLAR_MAX_CHARACTERS} (a trace id always does: 8 + 32 characters).
 */
export function observeTraced(series: HistogramSeries, seconds: number, traceId: string | undefined): void {
  if (traceId === undefined) {
    series.observe(seconds);
    return;
  }
  // UTF-16 length bounds the code point count from above, so this check never lets a too-long set through.
  if ('trace_id'.length + traceId.length > EXEMPLAR_MAX_CHARACTERS) series.observe(seconds);
  else series.observeWithExemplar(seconds, { trace_id: traceId });
}
