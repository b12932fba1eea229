import type { Sample } from './parse-exposition.js';
import type { Snapshot } from './snapshot.js';

/**
 * How much a counter grew between two readings. A smaller current value means the process restarted (a counter
 * reset): the counter began again at 0, so the whole current value is the growth, as Prometheus's `increase` assumes.
 * A series absent from the earlier scrape was created in between and also counts from 0.
 */
export function counterIncrease(previous: number | undefined, current: number): number {
  if (!Number.isFinite(current)) return 0;
  if (previous === undefined || !Number.isFinite(previous) || current < previous) return current;
  return current - previous;
}

/** The growth of every series of one endpoint between two scrapes, over a window of `seconds`. */
export interface Window {
  readonly url: string;
  readonly seconds: number;
  /** Each series' growth over the window (use for counters and histogram children). */
  readonly increases: readonly Sample[];
  /** Each series' latest value (use for gauges). */
  readonly latest: readonly Sample[];
}

/**
 * The window between two scrapes of one endpoint, or `undefined` when either scrape failed (a rate needs both ends)
 * or no time passed.
 */
export function windowBetween(previous: Snapshot | undefined, current: Snapshot): Window | undefined {
  if (previous === undefined || !previous.up || !current.up) return undefined;
  const seconds = (current.at - previous.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const increases: Sample[] = [];
  for (const [key, sample] of current.series) {
    increases.push({ ...sample, value: counterIncrease(previous.series.get(key)?.value, sample.value) });
  }
  return { url: current.url, seconds, increases, latest: [...current.series.values()] };
}

/** A per-second rate; 0 for an empty window. */
export function perSecond(increase: number, seconds: number): number {
  return seconds > 0 ? increase / seconds : 0;
}
