import { parseExposition, type Sample } from './parse-exposition.js';

/** One scrape of one endpoint: its samples keyed by series identity, or why it failed. */
export interface Snapshot {
  readonly url: string;
  /** Milliseconds, from the watcher's clock. */
  readonly at: number;
  readonly up: boolean;
  readonly error?: string;
  readonly series: ReadonlyMap<string, Sample>;
}

/** A stable identity for a series: its name and its labels sorted by name. */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  return JSON.stringify([name, ...names.map((n) => [n, labels[n]])]);
}

/** Indexes parsed samples by {@link seriesKey}. */
export function indexSamples(samples: readonly Sample[]): Map<string, Sample> {
  const series = new Map<string, Sample>();
  for (const s of samples) series.set(seriesKey(s.name, s.labels), s);
  return series;
}

/** A short reason for a failed scrape: the network code when there is one, else the message. */
function reason(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return cause.code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    return error.message;
  }
  return String(error);
}

/** Scrapes one `/metrics` URL. Never throws: an unreachable or failing endpoint gives `up: false` and a reason. */
export async function scrape(url: string, at: number, timeoutMs: number): Promise<Snapshot> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
    });
    const body = await response.text();
    if (!response.ok) return { url, at, up: false, error: `HTTP ${response.status}`, series: new Map() };
    return { url, at, up: true, series: indexSamples(parseExposition(body).samples) };
  } catch (error) {
    return { url, at, up: false, error: reason(error), series: new Map() };
  }
}
