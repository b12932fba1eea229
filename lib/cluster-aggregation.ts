import { createRequire } from 'node:module';
import { defaultMetricsClient, registriesOfOneClient, type MetricsClient, type MetricsClientName } from './client.js';
import { serveClusterProtobuf } from './cluster-native.js';
import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { describeValue } from './options.js';

const require = createRequire(import.meta.url);

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
   * @defaultValue the default client's global `register` (see the README's "Requirements")
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

/** The part of a client's cluster registry (`AggregatorRegistry` in 15, `ClusterRegistry` in 0.16) the kit uses. */
interface ClusterAggregator {
  clusterMetrics(): Promise<string>;
}

interface ClusterRegistryClass {
  new (): ClusterAggregator;
  setRegistries(registries: Registry[]): void;
}

const aggregators = new Map<MetricsClientName, ClusterAggregator>();

/** The client's cluster registry class: `ClusterRegistry` in 0.16 (`AggregatorRegistry` is its old name), else 15's. */
function clusterRegistryClass(client: MetricsClient): ClusterRegistryClass {
  const m = client.module as unknown as Record<string, unknown>;
  return (m.ClusterRegistry ?? m.AggregatorRegistry) as ClusterRegistryClass;
}

/**
 * The client's cluster registry, made once per client: making it installs the client's cluster message listeners
 * (and, on 0.16, announces this process to the other side).
 */
function sharedClusterAggregator(client: MetricsClient): ClusterAggregator {
  let aggregator = aggregators.get(client.name);
  if (aggregator === undefined) {
    aggregator = new (clusterRegistryClass(client))();
    aggregators.set(client.name, aggregator);
  }
  return aggregator;
}

/**
 * Call once in each `node:cluster` worker: the worker then answers the primary's requests for its metrics, with
 * the cluster protocol of the client its registries belong to (prom-client's `AggregatorRegistry`, or
 * `@prometheus-io/client`'s `ClusterRegistry`), so a primary using that client's cluster registry directly works
 * too. Throws a `TypeError` for a value that is not a `Registry` of either client, or for registries of both.
 */
export function clusterWorkerMetrics(options: ClusterWorkerOptions = {}): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { client, registries } = registriesOfOneClient(options.registry, false);
  clusterRegistryClass(client).setRegistries([...registries] as Registry[]);
  sharedClusterAggregator(client);
  answerPings();
  serveClusterProtobuf([...registries] as Registry[]); // the kit's own request, for protobuf scrapes of the primary
}

const PING = 'mesh-metrics:cluster-ping';
const PONG = 'mesh-metrics:cluster-pong';
let answering = false;

/** In a worker: answers the primary's pings, in order after whatever the client's own listener sends first. */
function answerPings(): void {
  if (answering || typeof process.send !== 'function') return;
  answering = true;
  process.on('message', (m: { type?: unknown; id?: unknown }) => {
    if (m?.type === PING && process.connected) process.send?.({ type: PONG, id: m.id });
  });
}

const ready = new Map<MetricsClientName, Promise<void>>();

/**
 * On the primary, once per client: the cluster registry, and on 0.16 the workers' announcements it asks for when
 * it is made (a worker that announced itself before the primary listened would otherwise be left out of the
 * first sums). Each worker answers a ping after its announcement, on the same ordered channel, so once every
 * connected worker has answered (or `waitMs` has passed, for workers that never called
 * {@link clusterWorkerMetrics}) the registry knows them all.
 */
function primaryAggregator(client: MetricsClient, waitMs: number): Promise<ClusterAggregator> {
  const aggregator = sharedClusterAggregator(client);
  let done = ready.get(client.name);
  if (done === undefined) {
    done = client.name === '@prometheus-io/client' ? pingWorkers(waitMs) : Promise.resolve();
    ready.set(client.name, done);
  }
  return done.then(() => aggregator);
}

let pings = 0;

function pingWorkers(waitMs: number): Promise<void> {
  const cluster = require('node:cluster') as typeof import('node:cluster').default;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && w.isConnected());
  if (workers.length === 0) return Promise.resolve();
  const id = `${process.pid}-${pings++}`;
  return new Promise((resolve) => {
    let waiting = workers.length;
    const finish = (): void => {
      clearTimeout(timer);
      cluster.off('message', onMessage);
      resolve();
    };
    const onMessage = (_worker: unknown, m: { type?: unknown; id?: unknown }): void => {
      if (m?.type === PONG && m.id === id && --waiting === 0) finish();
    };
    const timer = setTimeout(finish, waitMs);
    timer.unref?.();
    cluster.on('message', onMessage);
    for (const w of workers) w?.send({ type: PING, id }, undefined, () => undefined);
  });
}

/**
 * On the primary: every connected worker's metrics, combined family by family by the default client's cluster
 * registry (see {@link CLUSTER_AGGREGATION}; on `@prometheus-io/client` 0.16 the primary's own global registry is
 * included, as that client does), as Prometheus text. Rejects with a {@link ClusterMetricsError} when a worker has
 * not answered within `timeoutMs` (or the client's own 5 s limit, whichever comes first) or answered with an
 * error: a sum missing a worker would make counters go backwards, which Prometheus takes for a restart. Workers
 * that have exited are left out. With no worker (and, on 0.16, nothing in the primary's registry), resolves to `""`.
 */
export function aggregateClusterMetrics(timeoutMs: number): Promise<string> {
  let client: MetricsClient;
  try {
    client = defaultMetricsClient();
  } catch (error) {
    return Promise.reject(error);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ClusterMetricsError(`mesh-metrics: a cluster worker did not send its metrics within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
  });
  const collected = primaryAggregator(client, timeoutMs)
    .then((aggregator) => aggregator.clusterMetrics())
    .catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new ClusterMetricsError(`mesh-metrics: cluster workers' metrics could not be collected: ${why}`, {
        cause: error,
      });
    });
  return Promise.race([collected, timeout]).finally(() => clearTimeout(timer));
}
