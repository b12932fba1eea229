import promClient from 'prom-client';
import type { Registry } from 'prom-client';
import { serveClusterProtobuf } from './cluster-native.js';
import { describeValue } from './options.js';

/**
 * How the primary combines each of the kit's families across `node:cluster` workers (prom-client's `aggregator`
 * field, set when a family is created): counters, histograms, in-flight requests and active connections add up;
 * a health score is averaged; the circuit state takes the worst (highest) worker's; healthy instances take the
 * lowest count any worker sees.
 */
export const CLUSTER_AGGREGATION: Readonly<Record<string, 'sum' | 'average' | 'max' | 'min'>> = Object.freeze({
  counter: 'sum',
  histogram: 'sum',
  http_server_requests_in_flight: 'sum',
  /** OpenTelemetry naming's in-flight gauge (unprefixed). */
  http_server_active_requests: 'sum',
  lb_active_connections: 'sum',
  lb_instance_health_score: 'average',
  circuit_breaker_state: 'max',
  healthy_instances: 'min',
  metrics_overflow_total: 'sum',
  metrics_errors_total: 'sum',
});

/** Options of {@link clusterWorkerMetrics}. */
export interface ClusterWorkerOptions {
  /**
   * The registry, or registries, whose metrics this worker hands to the primary.
   * @defaultValue prom-client's global `register`
   */
  readonly registry?: Registry | readonly Registry[];
}

const TIMEOUT_MARKER = Symbol.for('mesh-metrics.cluster-timeout');

/** Why an aggregated scrape gave up: a worker did not answer in time, or answered with an error. */
export class ClusterMetricsError extends Error {
  readonly [TIMEOUT_MARKER] = true;
  override readonly name = 'ClusterMetricsError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Whether `e` is a {@link ClusterMetricsError}, from this copy of the package or another. */
export function isClusterMetricsError(e: unknown): e is ClusterMetricsError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[TIMEOUT_MARKER] === true;
}

let aggregator: { clusterMetrics(): Promise<string> } | undefined;

/** prom-client's `AggregatorRegistry`, made once: making it installs prom-client's cluster message listeners. */
function sharedAggregator(): { clusterMetrics(): Promise<string> } {
  aggregator ??= new promClient.AggregatorRegistry();
  return aggregator;
}

/**
 * Call once in each `node:cluster` worker: the worker then answers the primary's requests for its metrics (with
 * prom-client's own protocol, so a primary using prom-client's `AggregatorRegistry` directly works too).
 * Throws a `TypeError` for a value that is not a prom-client `Registry`.
 */
export function clusterWorkerMetrics(options: ClusterWorkerOptions = {}): void {
  const given = options.registry ?? promClient.register;
  const registries: readonly unknown[] = Array.isArray(given) ? given : [given];
  for (const r of registries) {
    if (!(r instanceof promClient.Registry)) {
      throw new TypeError(`registry must be a prom-client Registry (or an array of them), got ${describeValue(r)}`);
    }
  }
  promClient.AggregatorRegistry.setRegistries([...registries] as Registry[]);
  sharedAggregator();
  serveClusterProtobuf([...registries] as Registry[]); // the kit's own request, for protobuf scrapes of the primary
}

/**
 * On the primary: every connected worker's metrics, combined family by family with prom-client's
 * `AggregatorRegistry` (see {@link CLUSTER_AGGREGATION}), as Prometheus text. Rejects with a
 * {@link ClusterMetricsError} when a worker has not answered within `timeoutMs` (or prom-client's own 5 s limit,
 * whichever comes first) or answered with an error: a sum missing a worker would make counters go backwards, which
 * Prometheus takes for a restart. Workers that have exited are left out. With no worker, resolves to `""`.
 */
export function aggregateClusterMetrics(timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ClusterMetricsError(`mesh-metrics: a cluster worker did not send its metrics within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
  });
  const collected = sharedAggregator()
    .clusterMetrics()
    .catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new ClusterMetricsError(`mesh-metrics: cluster workers' metrics could not be collected: ${why}`, {
        cause: error,
      });
    });
  return Promise.race([collected, timeout]).finally(() => clearTimeout(timer));
}
