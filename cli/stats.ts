import type { Sample } from './parse-exposition.js';
import { latencyQuantiles, sumBuckets, type LatencyQuantiles } from './quantiles.js';
import { perSecond, type Window } from './rates.js';

/** Circuit state names by the gauge's number (cockatiel's `CircuitState`). */
const CIRCUIT_NAMES = ['closed', 'open', 'half_open', 'isolated'] as const;

export interface InstanceRow {
  readonly instance: string;
  readonly requestsPerSecond: number;
  readonly latency: LatencyQuantiles;
  readonly inFlight: number;
  readonly healthScore: number | null;
}

/** One outbound service as its callers see it (`mesh_calls_total`, `mesh_lb_*`, `mesh_retry_*`, circuit state). */
export interface ServiceRow {
  readonly service: string;
  readonly requestsPerSecond: number;
  /** Successful calls over all calls in the window; `null` without calls. */
  readonly successRatio: number | null;
  readonly latency: LatencyQuantiles;
  readonly inFlight: number;
  readonly retriesPerSecond: number;
  /** The worst state any caller reports; `null` when no breaker reports. */
  readonly circuit: string | null;
  /** Mean instance health score; `null` without a balancer. */
  readonly healthScore: number | null;
  readonly instances: number;
  readonly healthyInstances: number | null;
  readonly ejected: number | null;
  readonly byInstance?: readonly InstanceRow[];
}

/** One inbound route (`mesh_http_server_request_duration_seconds`), split by scraped endpoint when asked. */
export interface RouteRow {
  readonly method: string;
  readonly route: string;
  readonly endpoint?: string;
  readonly requestsPerSecond: number;
  /** Non-5xx responses over all responses; `null` without requests. */
  readonly successRatio: number | null;
  readonly latency: LatencyQuantiles;
}

export interface InboundRow {
  readonly service: string;
  readonly requestsPerSecond: number;
  readonly successRatio: number | null;
  readonly latency: LatencyQuantiles;
  readonly inFlight: number;
  readonly routes: readonly RouteRow[];
}

export interface StatOptions {
  /** Metric name prefix. @defaultValue `"mesh_"` */
  readonly prefix?: string;
  /** Add per-instance rows (outbound) and per-endpoint rows (inbound). @defaultValue `false` */
  readonly byInstance?: boolean;
}

type Pred = (s: Sample) => boolean;

function sum(samples: readonly Sample[], name: string, match: Pred): number {
  let total = 0;
  for (const s of samples) if (s.name === name && match(s)) total += s.value;
  return total;
}

function distinct(samples: readonly Sample[], name: string, label: string, match: Pred = () => true): string[] {
  const values = new Set<string>();
  for (const s of samples) {
    const v = s.labels[label];
    if (s.name === name && v !== undefined && match(s)) values.add(v);
  }
  return [...values].sort();
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** Per-second rate summed over windows (each window divides by its own length). */
function rate(windows: readonly Window[], name: string, match: Pred): number {
  return windows.reduce((acc, w) => acc + perSecond(sum(w.increases, name, match), w.seconds), 0);
}

function quantilesOver(windows: readonly Window[], bucketName: string, match: Pred): LatencyQuantiles {
  const all = windows.flatMap((w) => w.increases);
  return latencyQuantiles(sumBuckets(all, bucketName, match));
}

function instanceRows(p: string, windows: readonly Window[], latest: readonly Sample[], service: string): InstanceRow[] {
  const of = (instance: string): Pred => (s) => s.labels.service === service && s.labels.instance === instance;
  const names = new Set([
    ...distinct(latest, `${p}lb_instance_health_score`, 'instance', (s) => s.labels.service === service),
    ...distinct(latest, `${p}lb_requests_total`, 'instance', (s) => s.labels.service === service),
  ]);
  return [...names].sort().map((instance) => {
    const scores = latest.filter((s) => s.name === `${p}lb_instance_health_score` && of(instance)(s));
    return {
      instance,
      requestsPerSecond: rate(windows, `${p}lb_requests_total`, of(instance)),
      latency: quantilesOver(windows, `${p}lb_request_duration_seconds_bucket`, of(instance)),
      inFlight: sum(latest, `${p}lb_active_connections`, of(instance)),
      healthScore: scores.length > 0 ? scores.reduce((a, s) => a + s.value, 0) / scores.length : null,
    };
  });
}

function serviceRow(p: string, windows: readonly Window[], service: string, byInstance: boolean): ServiceRow {
  const of: Pred = (s) => s.labels.service === service;
  const latest = windows.flatMap((w) => w.latest);
  const calls = rate(windows, `${p}calls_total`, of);
  const ok = rate(windows, `${p}calls_total`, (s) => of(s) && s.labels.status === 'success');
  const states = latest.filter((s) => s.name === `${p}circuit_breaker_state` && of(s)).map((s) => s.value);
  const scores = latest.filter((s) => s.name === `${p}lb_instance_health_score` && of(s));
  const healthy = latest.filter((s) => s.name === `${p}healthy_instances` && of(s));
  // An instance is counted once per caller (endpoint) that balances over it.
  const instances = windows.reduce(
    (n, w) => n + distinct(w.latest, `${p}lb_instance_health_score`, 'instance', of).length,
    0,
  );
  const healthyCount = healthy.length > 0 ? healthy.reduce((a, s) => a + s.value, 0) : null;
  const worst = states.length > 0 ? Math.max(...states) : undefined;
  const row: ServiceRow = {
    service,
    requestsPerSecond: calls,
    successRatio: ratio(ok, calls),
    latency: quantilesOver(windows, `${p}call_duration_seconds_bucket`, of),
    inFlight: sum(latest, `${p}lb_active_connections`, of),
    retriesPerSecond: rate(windows, `${p}retry_attempts_total`, of),
    circuit: worst === undefined ? null : (CIRCUIT_NAMES[worst] ?? String(worst)),
    healthScore: scores.length > 0 ? scores.reduce((a, s) => a + s.value, 0) / scores.length : null,
    instances,
    healthyInstances: healthyCount,
    ejected: healthyCount === null ? null : Math.max(0, instances - healthyCount),
  };
  return byInstance ? { ...row, byInstance: instanceRows(p, windows, latest, service) } : row;
}

/** Outbound rows: every service seen in the call, balancer, retry or circuit families. */
export function outboundRows(windows: readonly Window[], options: StatOptions = {}): ServiceRow[] {
  const p = options.prefix ?? 'mesh_';
  const latest = windows.flatMap((w) => w.latest);
  const names = ['calls_total', 'lb_requests_total', 'circuit_breaker_state', 'lb_instance_health_score'];
  const services = new Set(names.flatMap((n) => distinct(latest, p + n, 'service')));
  return [...services].sort().map((service) => serviceRow(p, windows, service, options.byInstance ?? false));
}

function routeRow(p: string, windows: readonly Window[], match: Pred, method: string, route: string): RouteRow {
  const name = `${p}http_server_request_duration_seconds`;
  const total = rate(windows, `${name}_count`, match);
  const ok = rate(windows, `${name}_count`, (s) => match(s) && !(s.labels.status_code ?? '').startsWith('5'));
  return {
    method,
    route,
    requestsPerSecond: total,
    successRatio: ratio(ok, total),
    latency: quantilesOver(windows, `${name}_bucket`, match),
  };
}

/** Inbound rows: per service, then per route (and per endpoint with `byInstance`, where several serve it). */
export function inboundRows(windows: readonly Window[], options: StatOptions = {}): InboundRow[] {
  const p = options.prefix ?? 'mesh_';
  const name = `${p}http_server_request_duration_seconds`;
  const latest = windows.flatMap((w) => w.latest);
  const services = distinct(latest, `${name}_count`, 'service');
  return services.map((service) => {
    const of: Pred = (s) => s.labels.service === service;
    const keys = new Set<string>();
    for (const s of latest) {
      if (s.name === `${name}_count` && of(s)) keys.add(JSON.stringify([s.labels.method ?? '', s.labels.route ?? '']));
    }
    const routes: RouteRow[] = [];
    for (const key of [...keys].sort()) {
      const [method, route] = JSON.parse(key) as [string, string];
      const match: Pred = (s) => of(s) && s.labels.method === method && s.labels.route === route;
      routes.push(routeRow(p, windows, match, method, route));
      if (!options.byInstance) continue;
      // Per-endpoint rows only where several endpoints serve the route (one would repeat the row above).
      const serving = windows.filter((w) => w.latest.some((s) => s.name === `${name}_count` && match(s)));
      if (serving.length < 2) continue;
      for (const w of serving) routes.push({ ...routeRow(p, [w], match, method, route), endpoint: w.url });
    }
    const all = routeRow(p, windows, of, '*', '*');
    return { service, ...all, inFlight: sum(latest, `${p}http_server_requests_in_flight`, of), routes };
  }).map(({ method: _m, route: _r, ...row }) => row);
}
