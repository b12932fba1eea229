import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import protobuf from 'protobufjs/light.js';
import { CounterFamily, type CounterSeries } from './counter.js';
import type { AnyRegistry, ExpositionOptions } from './exposition-writer.js';
import { GaugeFamily, type GaugeSeries } from './gauge.js';
import { HistogramFamily, type HistogramSeries } from './histogram.js';
import { METRIC_TYPE, metricsProto } from './metric-family-proto.js';
import type { NativeHistogram } from './native-histogram.js';
import {
  addNative,
  counterMetric,
  gaugeMetric,
  histogramMetric,
  metricType,
  promMetrics,
  type MetricMessage,
  type PromMetricData,
} from './protobuf-metrics.js';

/*
 * The registry's exposition in Prometheus' protobuf format: a stream of length-delimited `MetricFamily` messages,
 * one per metric of the registry (families without series are left out, as Prometheus' own clients do). The kit's
 * families are encoded straight from their series in slices that give the event loop a turn between them (histograms
 * carry their native buckets when the family has them on); the application's own prom-client metrics are encoded
 * from their `get()` data. Counters keep the sample name the registry's text exposition gives them.
 */

/** The content type of the delimited protobuf exposition. */
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const DEFAULT_SLICE_LINES = 2048;
const DEFAULT_SLICE_MS = 5;
const CLOCK_EVERY = 16;
/** Bytes gathered into one piece of the served body. */
const PIECE_BYTES = 1 << 18;

type KitFamily = CounterFamily | GaugeFamily | HistogramFamily;

/**
 * Native buckets to add to histograms that are not the kit's (a `node:cluster` primary's combined ones): by family
 * name, then by label set (as `labelKey` of `cluster-native.ts` writes it).
 */
export type NativeOverlay = ReadonlyMap<string, ReadonlyMap<string, NativeHistogram>>;

/** A label set's identity from its pairs, whatever their order (matches the overlay's keys). */
function pairsKey(pairs: readonly { name: string; value: string }[]): string {
  const entries = pairs.map((p) => [p.name, p.value]);
  return JSON.stringify(entries.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)));
}
type LabelValues = Readonly<Record<string, unknown>>;

interface Context {
  readonly openMetrics: boolean;
  readonly defaults: LabelValues | null;
  readonly sliceLines: number;
  readonly sliceMs: number;
}

interface RegistryInternals {
  _defaultLabels?: unknown;
}

function contextOf(registry: AnyRegistry, options: ExpositionOptions): Context {
  const defaults = (registry as unknown as RegistryInternals)._defaultLabels;
  const hasDefaults = typeof defaults === 'object' && defaults !== null && Object.keys(defaults).length > 0;
  const sliceLines = options.sliceLines ?? DEFAULT_SLICE_LINES;
  if (!Number.isInteger(sliceLines) || sliceLines < 1) {
    throw new TypeError(`sliceLines must be an integer >= 1, got ${String(sliceLines)}`);
  }
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  if (typeof sliceMs !== 'number' || !(sliceMs > 0)) {
    throw new TypeError(`sliceMs must be a number > 0, got ${String(sliceMs)}`);
  }
  return {
    openMetrics: String(registry.contentType).startsWith('application/openmetrics-text'),
    defaults: hasDefaults ? (defaults as LabelValues) : null,
    sliceLines,
    sliceMs,
  };
}

function isKitFamily(metric: unknown): metric is KitFamily {
  return metric instanceof CounterFamily || metric instanceof GaugeFamily || metric instanceof HistogramFamily;
}

/** A counter's sample name as the registry's text exposition writes it (OpenMetrics: without `_total`, then with). */
function counterName(name: string, ctx: Context): string {
  return ctx.openMetrics ? `${name.replace(/_total$/, '')}_total` : name;
}

/** One family as a length-delimited message: its length, its header fields, then each metric (field 4). */
function frame(header: Uint8Array, body: readonly Uint8Array[]): Uint8Array[] {
  let length = header.length;
  for (const b of body) length += b.length;
  return [protobuf.Writer.create().uint32(length).finish(), header, ...body];
}

function header(name: string, help: string, type: number): Uint8Array {
  return metricsProto().MetricFamily.encode({ name, help, type }).finish();
}

type AnySeries = CounterSeries | GaugeSeries | HistogramSeries;

function kitRenderer(family: KitFamily, ctx: Context): (s: AnySeries) => MetricMessage {
  if (family instanceof HistogramFamily) return (s) => histogramMetric(family, s as HistogramSeries, ctx.defaults);
  if (family instanceof CounterFamily) return (s) => counterMetric(s as CounterSeries, ctx.defaults);
  return (s) => gaugeMetric(s as GaugeSeries, ctx.defaults);
}

/**
 * The writer every kit series is encoded with, emptied after each one: protobufjs' writer keeps one growing buffer,
 * so a writer per slice grew (and copied) a fresh buffer of tens of KB every slice; this one reaches the size of a
 * series once and keeps it. Encoding one series never awaits, so concurrent scrapes cannot interleave on it.
 */
let seriesWriter = protobuf.Writer.create();
/**
 * Encoded series copied one after another into buffers of {@link PIECE_BYTES}: a piece of the served body each, as
 * they are (see {@link batched}), so no step copies the encoded family once more.
 */
class Chunks {
  readonly done: Uint8Array[] = [];
  private buffer = Buffer.allocUnsafe(PIECE_BYTES);
  private used = 0;

  /** Takes what the writer holds; the caller resets it. */
  add(writer: protobuf.Writer): void {
    const size = writer.len;
    if (size > this.buffer.length - this.used) {
      this.seal();
      if (size > PIECE_BYTES) {
        this.done.push(writer.finish());
        return;
      }
    }
    writer.finishInto(this.buffer, this.used);
    this.used += size;
  }

  /** Closes the current buffer (when it holds anything) and starts a fresh one. */
  seal(): void {
    if (this.used === 0) return;
    this.done.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(PIECE_BYTES);
    this.used = 0;
  }
}

/** Adds one series as a field 4 (metric) of its family: its tag, its length, its `Metric` message. */
function encodeSeries(Metric: protobuf.Type, message: MetricMessage, chunks: Chunks): void {
  try {
    seriesWriter.uint32(34).fork();
    chunks.add(Metric.encode(message, seriesWriter).ldelim());
    seriesWriter.reset();
  } catch (error) {
    seriesWriter = protobuf.Writer.create(); // nothing half-written is left for the next series
    throw error;
  }
}

/** One kit family, encoded in slices with an event-loop turn between them; nothing when it has no series. */
async function kitFamily(family: KitFamily, ctx: Context): Promise<Uint8Array[]> {
  const { Metric } = metricsProto();
  const render = kitRenderer(family, ctx);
  const histogram = family instanceof HistogramFamily;
  const chunks = new Chunks();
  let lines = 0;
  let n = 0;
  let started = performance.now();
  for (const series of family.series() as Iterable<AnySeries>) {
    encodeSeries(Metric, render(series), chunks);
    n++;
    lines += histogram ? family.buckets.length + 3 + ((series as HistogramSeries).native?.bucketCount ?? 0) : 1;
    if (lines >= ctx.sliceLines || (n % CLOCK_EVERY === 0 && performance.now() - started >= ctx.sliceMs)) {
      lines = 0;
      await nextTurn();
      started = performance.now();
    }
  }
  if (n === 0) return [];
  chunks.seal();
  const name = family instanceof CounterFamily ? counterName(family.fullName, ctx) : family.fullName;
  const type = histogram ? METRIC_TYPE.HISTOGRAM : family instanceof CounterFamily ? METRIC_TYPE.COUNTER : METRIC_TYPE.GAUGE;
  return frame(header(name, family.help, type), chunks.done);
}

/** Another prom-client metric, from its `get()` data; nothing when it has no values. */
function promFamily(data: PromMetricData, ctx: Context, overlay: NativeOverlay | undefined): Uint8Array[] {
  const metrics = promMetrics(data, ctx.defaults);
  if (metrics.length === 0) return [];
  const native = data.type === 'histogram' ? overlay?.get(data.name) : undefined;
  if (native !== undefined) {
    for (const m of metrics) {
      const h = native.get(pairsKey(m.label));
      if (h !== undefined && m.histogram !== undefined) addNative(m.histogram, h, undefined);
    }
  }
  const name = data.type === 'counter' ? counterName(data.name, ctx) : data.name;
  return [metricsProto().MetricFamily.encodeDelimited({ name, help: data.help, type: metricType(data.type), metric: metrics }).finish()];
}

/**
 * The registry's protobuf exposition as a sequence of byte pieces. Like `registry.metrics()`, it starts collecting
 * every non-kit metric at once and rejects when one of them does.
 */
export function protobufChunks(registry: AnyRegistry, options: ExpositionOptions = {}): AsyncGenerator<Uint8Array> {
  return chunksWith(registry, options, undefined);
}

async function* chunksWith(
  registry: AnyRegistry,
  options: ExpositionOptions,
  overlay: NativeOverlay | undefined,
): AsyncGenerator<Uint8Array> {
  const ctx = contextOf(registry, options);
  const parts = registry.getMetricsAsArray().map((metric) => {
    if (isKitFamily(metric)) return metric;
    const data = Promise.resolve((metric as unknown as { get(): PromMetricData | Promise<PromMetricData> }).get());
    data.catch(() => {}); // awaited in order below; this only stops an early rejection being reported as unhandled
    return data;
  });
  for (const part of parts) {
    const bytes = part instanceof Promise ? promFamily(await part, ctx, overlay) : await kitFamily(part, ctx);
    yield* bytes;
  }
}

/** A view of the same bytes as a `Buffer` (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * The chunks as pieces of about 256 KB: small chunks (family headers, other metrics) gathered into one, the kit
 * families' own buffers of encoded series passed on as they are.
 */
async function* batched(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    if (chunk.length >= PIECE_BYTES / 2) {
      if (size > 0) yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
      yield asBuffer(chunk);
      continue;
    }
    pending.push(chunk);
    size += chunk.length;
    if (size >= PIECE_BYTES) {
      yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

/** The protobuf exposition as pieces of about 256 KB, for a response to write one after another. */
export function protobufPieces(registry: AnyRegistry, options: ExpositionOptions = {}): Promise<Buffer[]> {
  return protobufPiecesWith(registry, undefined, options);
}

/** {@link protobufPieces} with native buckets added to histograms that are not the kit's. */
export async function protobufPiecesWith(
  registry: AnyRegistry,
  overlay: NativeOverlay | undefined,
  options: ExpositionOptions = {},
): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for await (const piece of batched(chunksWith(registry, options, overlay))) pieces.push(piece);
  return pieces;
}

/** The protobuf exposition gzipped, compressed piece by piece while it is encoded. */
export function gzipProtobuf(registry: AnyRegistry, options: ExpositionOptions = {}): Promise<Buffer> {
  return gzipProtobufWith(registry, undefined, options);
}

/** {@link gzipProtobuf} with native buckets added to histograms that are not the kit's. */
export async function gzipProtobufWith(
  registry: AnyRegistry,
  overlay: NativeOverlay | undefined,
  options: ExpositionOptions = {},
): Promise<Buffer> {
  const gzip = createGzip();
  const out: Buffer[] = [];
  gzip.on('data', (b: Buffer) => out.push(b));
  const ended = once(gzip, 'end');
  ended.catch(() => {}); // a stream error also rejects the write or the end awaited below
  try {
    for await (const piece of batched(chunksWith(registry, options, overlay))) {
      if (!gzip.write(piece)) await once(gzip, 'drain');
    }
    gzip.end();
    await ended;
  } catch (error) {
    gzip.destroy();
    throw error;
  }
  return Buffer.concat(out);
}
