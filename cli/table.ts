import type { LatencyQuantiles } from './quantiles.js';
import { printable, terminalSafe } from './sanitize.js';
import type { StatReport } from './watcher.js';

/** How a report is laid out. */
export interface RenderOptions {
  /**
   * The terminal's width in columns. A report that would be wider gets the narrow layout (no p95, shorter headers,
   * instances as `healthy/total`, addresses without their scheme), and whatever is still too wide is cut with `…`.
   * @defaultValue no limit: the full layout
   */
  readonly width?: number;
  /**
   * The lines available. A report that would be taller first loses its per-endpoint inbound rows (they split a
   * route's row by endpoint), then is cut, its last line saying how many rows were left out.
   * @defaultValue no limit
   */
  readonly height?: number;
}

/** The layout choices of one rendering. */
interface Layout {
  readonly narrow: boolean;
  readonly width: number | undefined;
  /** Whether the inbound block splits routes by endpoint (when the report has them). */
  readonly endpointRows: boolean;
}

const ELLIPSIS = '…';

/** `text` cut to `width` characters, its end replaced by `…` when cut. */
export function fitWidth(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? ELLIPSIS.slice(0, width) : `${text.slice(0, width - 1)}${ELLIPSIS}`;
}

/**
 * Lays out rows under headers; columns after the first `leftColumns` are right-aligned (numbers). Every cell is made
 * {@link printable} first (label values and URLs come from scraped endpoints), so widths are those of what is shown.
 * With `maxWidth`, the first column (names) is narrowed, its cells cut with `…`, until the lines fit.
 */
export function formatTable(
  headers: readonly string[],
  unsafeRows: readonly (readonly string[])[],
  leftColumns = 1,
  maxWidth?: number,
): string {
  const rows = unsafeRows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (maxWidth !== undefined) {
    const total = widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
    const first = widths[0] ?? 0;
    if (total > maxWidth) widths[0] = Math.max((headers[0] ?? '').length, first - (total - maxWidth));
  }
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const cell = i === 0 ? fitWidth(c, w) : c;
        return i < leftColumns ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `12.3`, `0.5`: requests or retries per second. */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

/** `99.5%`, or `-` when there was nothing to divide. */
export function formatPercent(ratio: number | null): string {
  return ratio === null ? '-' : `${(ratio * 100).toFixed(ratio >= 0.9995 || ratio === 0 ? 0 : 1)}%`;
}

/** Seconds as `850µs`, `12ms`, `1.25s`, or `-`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 0.001) return `${Math.round(seconds * 1e6)}µs`;
  if (seconds < 1) return `${seconds * 1000 >= 10 ? Math.round(seconds * 1000) : (seconds * 1000).toFixed(1)}ms`;
  return `${seconds.toFixed(2)}s`;
}

function latencyCells(l: LatencyQuantiles, layout: Layout): string[] {
  const p95 = layout.narrow ? [] : [formatDuration(l.p95)];
  return [formatDuration(l.p50), ...p95, formatDuration(l.p99)];
}

function latencyHeaders(layout: Layout): string[] {
  return layout.narrow ? ['P50', 'P99'] : ['P50', 'P95', 'P99'];
}

/** An address as shown in the narrow layout: without `http://` (an `https://` one keeps its scheme). */
function shortAddress(url: string, layout: Layout): string {
  return layout.narrow && url.startsWith('http://') ? url.slice('http://'.length) : url;
}

/** The endpoints and their state; the narrow layout lists only those down (the title line counts them all). */
function endpointsBlock(report: StatReport, layout: Layout): string | undefined {
  const shown = layout.narrow ? report.endpoints.filter((e) => !e.up) : report.endpoints;
  if (shown.length === 0) return undefined;
  const rows = shown.map((e) => [e.url, e.up ? 'up' : `DOWN (${e.error ?? 'unreachable'})`]);
  return formatTable(['ENDPOINT', 'STATUS'], rows, 2, layout.width);
}

function instancesCell(s: StatReport['outbound'][number], layout: Layout): string {
  if (s.healthyInstances === null) return String(s.instances || '-');
  if (layout.narrow) return `${s.healthyInstances}/${s.instances}`;
  const instances = `${s.healthyInstances}/${s.instances} healthy`;
  return s.ejected ? `${instances}, ${s.ejected} ejected` : instances;
}

function outboundBlock(report: StatReport, layout: Layout): string {
  const n = layout.narrow;
  const headers = [
    'OUTBOUND', 'RPS', n ? 'OK%' : 'SUCCESS', ...latencyHeaders(layout), n ? 'INFL' : 'INFLIGHT', n ? 'RTRY/S' : 'RETRY/S',
    'CIRCUIT', 'HEALTH', n ? 'UP' : 'INSTANCES',
  ];
  const rows: string[][] = [];
  for (const s of report.outbound) {
    rows.push([
      s.service,
      formatRate(s.requestsPerSecond),
      formatPercent(s.successRatio),
      ...latencyCells(s.latency, layout),
      String(s.inFlight),
      formatRate(s.retriesPerSecond),
      s.circuit ?? '-',
      s.healthScore === null ? '-' : s.healthScore.toFixed(2),
      instancesCell(s, layout),
    ]);
    for (const i of s.byInstance ?? []) {
      rows.push([
        `  ${shortAddress(i.instance, layout)}`,
        formatRate(i.requestsPerSecond),
        '',
        ...latencyCells(i.latency, layout),
        String(i.inFlight),
        '',
        '',
        i.healthScore === null ? '-' : i.healthScore.toFixed(2),
        '',
      ]);
    }
  }
  return formatTable(headers, rows, 1, layout.width);
}

/** The scraped endpoint of a per-endpoint row: its URL, or `host:port` in the narrow layout. */
function endpointName(url: string, layout: Layout): string {
  if (!layout.narrow || !URL.canParse(url)) return url;
  return new URL(url).host;
}

function inboundBlock(report: StatReport, layout: Layout): string {
  const n = layout.narrow;
  const headers = ['INBOUND', 'RPS', n ? 'OK%' : 'SUCCESS', ...latencyHeaders(layout), n ? 'INFL' : 'INFLIGHT'];
  const rows: string[][] = [];
  for (const s of report.inbound) {
    rows.push([
      s.service,
      formatRate(s.requestsPerSecond),
      formatPercent(s.successRatio),
      ...latencyCells(s.latency, layout),
      String(s.inFlight),
    ]);
    for (const r of s.routes) {
      if (r.endpoint !== undefined && !layout.endpointRows) continue;
      const at = r.endpoint ? ` @ ${endpointName(r.endpoint, layout)}` : '';
      const name = `  ${r.method} ${r.route}${at}`;
      rows.push([name, formatRate(r.requestsPerSecond), formatPercent(r.successRatio), ...latencyCells(r.latency, layout), '']);
    }
  }
  return formatTable(headers, rows, 1, layout.width);
}

function render(report: StatReport, layout: Layout): string {
  const noRates = layout.narrow ? 'no rates yet' : 'no rates yet (they need two successful scrapes)';
  const window = report.windowSeconds > 0 ? `${report.windowSeconds.toFixed(1)} s window` : noRates;
  const up = report.endpoints.filter((e) => e.up).length;
  const parts = [`mesh-metrics stat · ${report.at.slice(11, 19)} UTC · ${window} · ${up}/${report.endpoints.length} endpoints up`];
  const endpoints = endpointsBlock(report, layout);
  if (endpoints !== undefined) parts.push(endpoints);
  if (report.outbound.length > 0) parts.push(outboundBlock(report, layout));
  if (report.inbound.length > 0) parts.push(inboundBlock(report, layout));
  if (report.outbound.length === 0 && report.inbound.length === 0) parts.push('(no mesh metrics found yet)');
  const width = layout.width;
  const text = parts.join('\n\n');
  return width === undefined ? text : text.split('\n').map((l) => fitWidth(l, width)).join('\n');
}

/** The widest line of a text block. */
export function widestLine(text: string): number {
  return text.split('\n').reduce((m, l) => Math.max(m, l.length), 0);
}

/**
 * The whole view as text, in the spirit of `linkerd viz stat`: the full layout, or with `width` the narrow one when
 * the full one would not fit (every line then fits `width`). Free of raw control characters.
 */
export function renderReport(report: StatReport, options: RenderOptions = {}): string {
  const limit = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? Math.floor(n) : undefined);
  const width = limit(options.width);
  const height = limit(options.height);
  let layout: Layout = { narrow: false, width: undefined, endpointRows: true };
  let text = render(report, layout);
  if (width !== undefined && widestLine(text) > width) text = render(report, (layout = { ...layout, narrow: true, width }));
  if (height !== undefined && lineCount(text) > height) {
    text = render(report, (layout = { ...layout, endpointRows: false }));
    if (lineCount(text) > height) text = cutToHeight(text, height, width);
  }
  // Every scraped string was made printable cell by cell; this pass guards whatever else reaches the terminal.
  return terminalSafe(`${text}\n`);
}

function lineCount(text: string): number {
  return text.split('\n').length;
}

/** The first lines of `text` that fit `height`, the last one saying how many were left out. */
function cutToHeight(text: string, height: number, width: number | undefined): string {
  const lines = text.split('\n');
  const kept = lines.slice(0, Math.max(0, height - 1));
  const more = `… ${lines.length - kept.length} more lines (a taller window shows them)`;
  return [...kept, width === undefined ? more : fitWidth(more, width)].join('\n');
}
