import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createGunzip } from 'node:zlib';
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
    const code = (error as NodeJS.ErrnoException).code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    return typeof code === 'string' && code !== 'ERR_STREAM_PREMATURE_CLOSE' ? code : error.message;
  }
  return String(error);
}

/** GETs a URL with node:http(s) (any port, unlike fetch), gunzipping the body when the server gzipped it. */
function get(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1', 'accept-encoding': 'gzip' };
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? httpsGet : httpGet)(url, { headers, signal }, (res) => {
      const stream = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      res.on('error', reject);
      stream.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', (error) => reject(signal.aborted ? signal.reason : error));
  });
}

/** Scrapes one `/metrics` URL. Never throws: an unreachable or failing endpoint gives `up: false` and a reason. */
export async function scrape(url: string, at: number, timeoutMs: number): Promise<Snapshot> {
  try {
    const { status, body } = await get(url, timeoutMs);
    if (status < 200 || status >= 300) return { url, at, up: false, error: `HTTP ${status}`, series: new Map() };
    return { url, at, up: true, series: indexSamples(parseExposition(body).samples) };
  } catch (error) {
    return { url, at, up: false, error: reason(error), series: new Map() };
  }
}
