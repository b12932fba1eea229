import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { CounterFamily, type CounterSeries } from './counter.js';
import { GaugeFamily, type GaugeSeries } from './gauge.js';
import { HistogramFamily, type Exemplar, type HistogramSeries } from './histogram.js';
import { escapeLabelValue } from './label-value.js';

/*
 * Renders a prom-client registry's exposition, byte for byte what `registry.metrics()` returns, but the kit's own
 * families are written straight from their series, in slices that give the event loop a turn between them, so a
 * scrape of many series neither blocks the server nor builds prom-client's intermediate objects. Other metrics in
 * the registry (the application's prom-client metrics) are rendered by the registry itself.
 */

/** How the exposition is sliced. */
export interface ExpositionOptions {
  /**
   * Exposition lines written between two turns of the event loop.
   * @defaultValue 2048
   */
  readonly sliceLines?: number;
  /**
   * Longest time, in milliseconds, one slice may run before the event loop gets a turn (checked every few series).
   * @defaultValue 5
   */
  readonly sliceMs?: number;
}

const DEFAULT_SLICE_LINES = 2048;
const DEFAULT_SLICE_MS = 5;
/** Series rendered between two looks at the clock. */
const CLOCK_EVERY = 16;

/** A registry of either content type. */
export type AnyRegistry = Registry;

type KitFamily = CounterFamily | GaugeFamily | HistogramFamily;
type LabelValues = Readonly<Record<string, unknown>>;

interface Context {
  readonly openMetrics: boolean;
  /** The registry's default labels, or null when it has none. */
  readonly defaults: LabelValues | null;
  readonly sliceLines: number;
  readonly sliceMs: number;
}

/** What `registry.metrics()` itself uses, beyond prom-client's published types. */
interface RegistryInternals {
  _defaultLabels?: unknown;
  getMetricsAsString(metric: unknown): Promise<string>;
}

function isKitFamily(metric: unknown): metric is KitFamily {
  return metric instanceof CounterFamily || metric instanceof GaugeFamily || metric instanceof HistogramFamily;
}

/**
 * Makes V8 flatten a string built by many concatenations: its pieces become garbage at once, instead of surviving
 * (and being copied by) every young-generation collection until the whole exposition is written.
 */
function flat(text: string): string {
  Number(text);
  return text;
}

/**
 * Text gathered before it is flattened: large enough that V8 allocates the flat copy outside the young generation,
 * so the finished part of the exposition is never copied again by a young-generation collection.
 */
const FLATTEN_AT = 1 << 18;

/** prom-client's rendering of a sample value. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(name: string, value: unknown): string {
  return `${name}="${typeof value === 'string' ? escapeLabelValue(value) : String(value)}"`;
}

/** `{a="1",b="2"}`, or `""` without labels; default labels merged the way prom-client merges them. */
function plainLabels(labels: LabelValues, ctx: Context): string {
  const merged = ctx.defaults === null ? labels : { ...labels, ...ctx.defaults, ...labels };
  let text = '';
  for (const [name, value] of Object.entries(merged)) text += (text === '' ? '' : ',') + labelText(name, value);
  return text === '' ? '' : `{${text}}`;
}

/** The label text before and after `le` on a bucket line, in prom-client's order (series labels, le, defaults). */
function bucketLabels(labels: LabelValues, ctx: Context): [before: string, after: string] {
  const withLe = { ...labels, le: '' };
  const merged = ctx.defaults === null ? withLe : { ...withLe, ...ctx.defaults, ...withLe };
  let before = '';
  let after = '';
  let seenLe = false;
  for (const [name, value] of Object.entries(merged)) {
    if (name === 'le') seenLe = true;
    else if (seenLe) after += `,${labelText(name, value)}`;
    else before += `${labelText(name, value)},`;
  }
  return [before, after];
}

function exemplarText(e: Exemplar): string {
  let labels = '';
  for (const [name, value] of Object.entries(e.labelSet)) labels += (labels === '' ? '' : ',') + labelText(name, value);
  return ` # {${labels}} ${valueText(e.value)} ${e.timestamp}`;
}

function histogramLines(family: HistogramFamily, les: readonly string[], s: HistogramSeries, ctx: Context): string {
  const [before, after] = bucketLabels(s.labels, ctx);
  const head = `\n${family.fullName}_bucket{${before}`;
  const tail = `${after}} `;
  const n = les.length - 1;
  const exemplars = ctx.openMetrics ? s.exemplars : undefined;
  let out = '';
  let cumulative = 0;
  for (let i = 0; i <= n; i++) {
    cumulative = i < n ? cumulative + (s.counts[i] as number) : s.count;
    out += head + (les[i] as string) + tail + valueText(cumulative);
    const e = exemplars?.[i];
    if (e !== undefined) out += exemplarText(e);
  }
  const labels = plainLabels(s.labels, ctx);
  return `${out}\n${family.fullName}_sum${labels} ${valueText(s.sum)}\n${family.fullName}_count${labels} ${valueText(s.count)}`;
}

/** Renders one kit family, yielding text slices and an event-loop turn after each `sliceLines` lines. */
async function* familyText(family: KitFamily, ctx: Context): AsyncGenerator<string> {
  const name = escapeText(family.name);
  let chunk = `# HELP ${name} ${escapeText(family.help)}\n# TYPE ${name} ${family.type}`;
  let lines = 0;
  let n = 0;
  let started = performance.now();
  const step = family instanceof HistogramFamily ? family.buckets.length + 3 : 1;
  const render = seriesRenderer(family, ctx, name);
  for (const series of family.series() as Iterable<AnySeries>) {
    chunk += render(series);
    lines += step;
    if (lines >= ctx.sliceLines || (++n % CLOCK_EVERY === 0 && performance.now() - started >= ctx.sliceMs)) {
      yield chunk;
      chunk = '';
      lines = 0;
      await nextTurn();
      started = performance.now();
    }
  }
  if (chunk !== '') yield chunk;
}

type AnySeries = CounterSeries | GaugeSeries | HistogramSeries;
type SeriesRenderer = (series: AnySeries) => string;

function seriesRenderer(family: KitFamily, ctx: Context, name: string): SeriesRenderer {
  if (family instanceof HistogramFamily) {
    const les = [...family.buckets.map((b) => `le="${b}"`), 'le="+Inf"'];
    return (s) => histogramLines(family, les, s as HistogramSeries, ctx);
  }
  const sample = family.type === 'counter' && ctx.openMetrics ? `${name}_total` : name;
  return (s) => `\n${sample}${plainLabels(s.labels, ctx)} ${valueText((s as CounterSeries | GaugeSeries).value)}`;
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

/**
 * The registry's exposition as a sequence of text pieces whose concatenation equals `registry.metrics()`.
 * Like `registry.metrics()`, it starts collecting every non-kit metric at once (renaming counters for OpenMetrics
 * as prom-client does), and rejects when one of them does.
 */
export async function* expositionChunks(registry: AnyRegistry, options: ExpositionOptions = {}): AsyncGenerator<string> {
  const ctx = contextOf(registry, options);
  const parts = registry.getMetricsAsArray().map((metric) => {
    const m = metric as unknown as { type: string; name: string };
    if (ctx.openMetrics && m.type === 'counter') m.name = m.name.replace(/_total$/, '');
    if (isKitFamily(metric)) return metric;
    const text = (registry as unknown as RegistryInternals).getMetricsAsString(metric);
    text.catch(() => {}); // awaited in order below; this only stops an early rejection being reported as unhandled
    return text;
  });
  const separator = ctx.openMetrics ? '\n' : '\n\n';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) yield separator;
    const part = parts[i] as KitFamily | Promise<string>;
    if (part instanceof Promise) yield await part;
    else yield* familyText(part, ctx);
  }
  yield ctx.openMetrics ? '\n# EOF\n' : '\n';
}

/** The registry's whole exposition, equal to `registry.metrics()`; see {@link expositionChunks}. */
export async function renderExposition(registry: AnyRegistry, options: ExpositionOptions = {}): Promise<string> {
  let done = '';
  let pending = '';
  for await (const chunk of expositionChunks(registry, options)) {
    pending += chunk;
    if (pending.length >= FLATTEN_AT) {
      done += flat(pending);
      pending = '';
    }
  }
  return done + pending;
}

/**
 * The registry's exposition as UTF-8 pieces of about 256 KB each, made between the writer's slices: served one after
 * another they are exactly `registry.metrics()`, and no step converts or copies the whole text at once (a response
 * writes them with backpressure). Rejects when a collector does.
 */
export async function expositionPieces(registry: AnyRegistry, options: ExpositionOptions = {}): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  let pending = '';
  for await (const chunk of expositionChunks(registry, options)) {
    pending += chunk;
    if (pending.length >= FLATTEN_AT) {
      pieces.push(Buffer.from(pending, 'utf8'));
      pending = '';
    }
  }
  if (pending !== '') pieces.push(Buffer.from(pending, 'utf8'));
  return pieces;
}

/**
 * The registry's exposition gzipped, compressed piece by piece while it is written: no step ever holds or
 * converts the whole text at once, so a large scrape costs the event loop only short slices. Decompresses to
 * exactly `registry.metrics()`; rejects when a collector does.
 */
export async function gzipExposition(registry: AnyRegistry, options: ExpositionOptions = {}): Promise<Buffer> {
  const gzip = createGzip();
  const out: Buffer[] = [];
  gzip.on('data', (b: Buffer) => out.push(b));
  const ended = once(gzip, 'end');
  ended.catch(() => {}); // a stream error also rejects the write or the end awaited below
  try {
    let pending = '';
    for await (const chunk of expositionChunks(registry, options)) {
      pending += chunk;
      if (pending.length >= FLATTEN_AT) {
        if (!gzip.write(pending)) await once(gzip, 'drain');
        pending = '';
      }
    }
    gzip.end(pending);
    await ended;
  } catch (error) {
    gzip.destroy();
    throw error;
  }
  return Buffer.concat(out);
}
