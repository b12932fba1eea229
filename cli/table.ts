import type { LatencyQuantiles } from './quantiles.js';
import { printable, terminalSafe } from './sanitize.js';
import type { StatReport } from './watcher.js';

/**
 * Lays out rows under headers; columns after the first `leftColumns` are right-aligned (numbers). Every cell is made
 * {@link printable} first (label values and URLs come from scraped endpoints), so widths are those of what is shown.
 */
export function formatTable(
  headers: readonly string[],
  unsafeRows: readonly (readonly string[])[],
  leftColumns = 1,
): string {
  const rows = unsafeRows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
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

function latencyCells(l: LatencyQuantiles): string[] {
  return [formatDuration(l.p50), formatDuration(l.p95), formatDuration(l.p99)];
}

function endpointsBlock(report: StatReport): string {
  const rows = report.endpoints.map((e) => [e.url, e.up ? 'up' : `DOWN (${e.error ?? 'unreachable'})`]);
  return formatTable(['ENDPOINT', 'STATUS'], rows, 2);
}

function outboundBlock(report: StatReport): string {
  const headers = ['OUTBOUND', 'RPS', 'SUCCESS', 'P50', 'P95', 'P99', 'INFLIGHT', 'RETRY/S', 'CIRCUIT', 'HEALTH', 'INSTANCES'];
  const rows: string[][] = [];
  for (const s of report.outbound) {
    const instances =
      s.healthyInstances === null ? String(s.instances || '-') : `${s.healthyInstances}/${s.instances} healthy`;
    rows.push([
      s.service,
      formatRate(s.requestsPerSecond),
      formatPercent(s.successRatio),
      ...latencyCells(s.latency),
      String(s.inFlight),
      formatRate(s.retriesPerSecond),
      s.circuit ?? '-',
      s.healthScore === null ? '-' : s.healthScore.toFixed(2),
      s.ejected ? `${instances}, ${s.ejected} ejected` : instances,
    ]);
    for (const i of s.byInstance ?? []) {
      rows.push([
        `  ${i.instance}`,
        formatRate(i.requestsPerSecond),
        '',
        ...latencyCells(i.latency),
        String(i.inFlight),
        '',
        '',
        i.healthScore === null ? '-' : i.healthScore.toFixed(2),
        '',
      ]);
    }
  }
  return formatTable(headers, rows);
}

function inboundBlock(report: StatReport): string {
  const headers = ['INBOUND', 'RPS', 'SUCCESS', 'P50', 'P95', 'P99', 'INFLIGHT'];
  const rows: string[][] = [];
  for (const s of report.inbound) {
    rows.push([s.service, formatRate(s.requestsPerSecond), formatPercent(s.successRatio), ...latencyCells(s.latency), String(s.inFlight)]);
    for (const r of s.routes) {
      const name = `  ${r.method} ${r.route}${r.endpoint ? ` @ ${r.endpoint}` : ''}`;
      rows.push([name, formatRate(r.requestsPerSecond), formatPercent(r.successRatio), ...latencyCells(r.latency), '']);
    }
  }
  return formatTable(headers, rows);
}

/** The whole view as text, in the spirit of `linkerd viz stat`. */
export function renderReport(report: StatReport): string {
  const window = report.windowSeconds > 0 ? `${report.windowSeconds.toFixed(1)} s window` : 'no rates yet (they need two successful scrapes)';
  const up = report.endpoints.filter((e) => e.up).length;
  const parts = [
    `mesh-metrics stat · ${report.at.slice(11, 19)} UTC · ${window} · ${up}/${report.endpoints.length} endpoints up`,
    endpointsBlock(report),
  ];
  if (report.outbound.length > 0) parts.push(outboundBlock(report));
  if (report.inbound.length > 0) parts.push(inboundBlock(report));
  if (report.outbound.length === 0 && report.inbound.length === 0) parts.push('(no mesh metrics found yet)');
  // Every scraped string was made printable cell by cell; this pass guards whatever else reaches the terminal.
  return terminalSafe(`${parts.join('\n\n')}\n`);
}
