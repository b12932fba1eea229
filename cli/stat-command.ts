import { parseArgs } from 'node:util';
import { terminalSafeJson } from './sanitize.js';
import { renderReport } from './table.js';
import { checkMetricsUrl, createStatWatcher, type StatReport } from './watcher.js';

export const STAT_USAGE = `Usage: mesh-metrics stat [options] <metrics-url>...

Scrapes each /metrics endpoint every interval and prints, per service, requests/s, success %, p50/p95/p99
latency, in-flight, retries/s, circuit state, health score and ejected instances, then the inbound routes.
Rates come from the difference of two scrapes.

Options:
  -i, --interval <seconds>  time between scrapes (default 2)
      --once                print one table, computed over one interval, and exit
      --json                print the numbers as JSON (one object per line) instead of a table
      --by-instance         add a row per instance (outbound) and per endpoint (inbound)
      --prefix <prefix>     metric name prefix (default mesh_)
      --timeout <seconds>   scrape timeout (default: the interval, at most 5)
  -h, --help                show this help
`;

export interface StatArgs {
  readonly urls: string[];
  readonly intervalSeconds: number;
  readonly once: boolean;
  readonly json: boolean;
  readonly byInstance: boolean;
  readonly prefix: string;
  readonly timeoutMs: number;
}

/** Parses `stat`'s arguments; throws a `TypeError` naming the bad value. */
export function parseStatArgs(argv: readonly string[]): StatArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      interval: { type: 'string', short: 'i', default: '2' },
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'by-instance': { type: 'boolean', default: false },
      prefix: { type: 'string', default: 'mesh_' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const intervalSeconds = Number(values.interval);
  if (!(intervalSeconds > 0) || !Number.isFinite(intervalSeconds)) {
    throw new TypeError(`--interval must be a positive number of seconds, got ${JSON.stringify(values.interval)}`);
  }
  const timeoutSeconds = values.timeout === undefined ? Math.min(intervalSeconds, 5) : Number(values.timeout);
  if (!(timeoutSeconds > 0) || !Number.isFinite(timeoutSeconds)) {
    throw new TypeError(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
  }
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(values.prefix)) {
    throw new TypeError(`--prefix must match [a-zA-Z_][a-zA-Z0-9_]*, got ${JSON.stringify(values.prefix)}`);
  }
  if (positionals.length === 0) throw new TypeError('give at least one metrics URL, such as http://127.0.0.1:3000/metrics');
  for (const url of positionals) checkMetricsUrl(url, 'metrics URL');
  return {
    urls: positionals,
    intervalSeconds,
    once: values.once,
    json: values.json,
    byInstance: values['by-instance'],
    prefix: values.prefix,
    timeoutMs: timeoutSeconds * 1000,
  };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * A report as the chosen output: a table (fitted to `width` columns when given, as a terminal's), or one line of
 * JSON; either is free of raw control characters.
 */
export function formatOutput(report: StatReport, json: boolean, width?: number, height?: number): string {
  if (json) return `${terminalSafeJson(report)}\n`;
  return renderReport(report, { ...(width === undefined ? {} : { width }), ...(height === undefined ? {} : { height }) });
}

/**
 * Runs `stat`: with `once`, scrapes twice one interval apart and writes one report; otherwise writes a report every
 * interval until `signal` aborts. A terminal gets the screen cleared between tables. Resolves to the last report
 * written (`undefined` when stopped before the first).
 */
export async function runStat(
  args: StatArgs,
  write: (text: string) => void,
  signal?: AbortSignal,
): Promise<StatReport | undefined> {
  const watcher = createStatWatcher(args.urls, { prefix: args.prefix, byInstance: args.byInstance, timeoutMs: args.timeoutMs });
  const ms = args.intervalSeconds * 1000;
  await watcher.tick();
  const clear = !args.json && !args.once && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
  let last: StatReport | undefined;
  while (!signal?.aborted) {
    await sleep(ms, signal);
    if (signal?.aborted) break;
    last = await watcher.tick();
    // a terminal's size is read at each refresh, so the table follows a resized window; a pipe gets every column.
    // The live view is redrawn in place, so it also keeps to the window's height (the cursor takes the last row).
    const tty = process.stdout.isTTY === true;
    const height = tty && clear !== '' ? process.stdout.rows - 1 : undefined;
    write(clear + formatOutput(last, args.json, tty ? process.stdout.columns : undefined, height));
    if (args.once) break;
  }
  return last;
}
