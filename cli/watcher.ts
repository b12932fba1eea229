import { windowBetween, type Window } from './rates.js';
import { scrape, type Snapshot } from './snapshot.js';
import { inboundRows, outboundRows, type InboundRow, type ServiceRow, type StatOptions } from './stats.js';

export interface EndpointStatus {
  readonly url: string;
  readonly up: boolean;
  readonly error?: string;
}

/** Everything one refresh of the view shows, in numbers (seconds, ratios 0..1, per-second rates). */
export interface StatReport {
  /** ISO time of the latest scrape. */
  readonly at: string;
  /** The longest window a rate in this report covers, in seconds (0 on the first scrape). */
  readonly windowSeconds: number;
  readonly endpoints: readonly EndpointStatus[];
  readonly outbound: readonly ServiceRow[];
  readonly inbound: readonly InboundRow[];
}

export interface WatcherOptions extends StatOptions {
  /** Milliseconds before a scrape counts as failed. @defaultValue `2000` */
  readonly timeoutMs?: number;
  /** The clock rates are measured with, in milliseconds. @defaultValue `Date.now` */
  readonly clock?: () => number;
}

/** Scrapes a set of endpoints; each `tick()` compares this scrape with the previous one. */
export interface StatWatcher {
  tick(): Promise<StatReport>;
}

/** Throws a `TypeError` naming `url` unless it is an http(s) URL. */
export function checkMetricsUrl(url: string, who = 'createStatWatcher'): void {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new TypeError(`${who}: not an http(s) URL: ${JSON.stringify(url)}`);
  }
}

export function createStatWatcher(urls: readonly string[], options: WatcherOptions = {}): StatWatcher {
  if (urls.length === 0) throw new TypeError('createStatWatcher: at least one metrics URL is needed');
  for (const url of urls) checkMetricsUrl(url);
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  let previous = new Map<string, Snapshot>();
  return {
    async tick() {
      const at = clock();
      const current = await Promise.all(urls.map((url) => scrape(url, at, timeoutMs)));
      const windows: Window[] = [];
      for (const snapshot of current) {
        const w = windowBetween(previous.get(snapshot.url), snapshot);
        if (w) windows.push(w);
      }
      previous = new Map(current.map((s) => [s.url, s]));
      return {
        at: new Date(at).toISOString(),
        windowSeconds: windows.reduce((m, w) => Math.max(m, w.seconds), 0),
        endpoints: current.map((s) => (s.up ? { url: s.url, up: true } : { url: s.url, up: false, error: s.error ?? '' })),
        outbound: outboundRows(windows, options),
        inbound: inboundRows(windows, options),
      };
    },
  };
}
