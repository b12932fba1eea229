/**
 * `worker_threads` aggregation, the kit's own small bridge over a `BroadcastChannel` (a `MessagePort` that needs
 * no port handed to each worker, so it fits pools such as piscina that make the workers themselves). The same
 * bridge on both clients; the families are combined by the client's own `aggregate` with each family's aggregation
 * (see `CLUSTER_AGGREGATION`).
 */
import { BroadcastChannel, isMainThread, threadId, type Worker } from 'node:worker_threads';
import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { ClusterMetricsError } from './cluster-aggregation.js';
import { registriesOfOneClient, type MetricsClient } from './client.js';
import { describeValue } from './options.js';

const CHANNEL = 'mesh-metrics:worker-threads';

type Message =
  | { readonly type: 'hello'; readonly threadId: number }
  | { readonly type: 'welcome'; readonly threadId: number }
  | { readonly type: 'roll-call' }
  | { readonly type: 'collect'; readonly id: number }
  | { readonly type: 'metrics'; readonly id: number; readonly threadId: number; readonly metrics?: unknown; readonly error?: string };

/** Options of {@link workerThreadMetrics} and {@link threadMetricsAggregator}. */
export interface WorkerThreadOptions {
  /**
   * In a worker thread: the registry, or registries, whose metrics it hands to the main thread. On the main thread:
   * the main thread's own registries, added to the workers' sums (`[]` for none).
   * @defaultValue the default client's global `register` (see the README's "Requirements")
   */
  readonly registry?: Registry | readonly Registry[];
}

/** What {@link workerThreadMetrics} returns: the thread answers until `dispose()`. */
export interface WorkerThreadMetrics {
  /**
   * Resolves once the main thread's aggregator knows this thread, so its metrics are in every gathering from then
   * on (it waits for the aggregator to start, if it has not yet).
   */
  readonly ready: Promise<void>;
  /** Stops answering the main thread (closes the thread's channel). */
  dispose(): void;
}

function registriesOf(options: WorkerThreadOptions): { client: MetricsClient; registries: Registry[] } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { client, registries } = registriesOfOneClient(options.registry, true);
  return { client, registries: registries as Registry[] };
}

async function collect(registries: readonly Registry[]): Promise<unknown[]> {
  return Promise.all(registries.map((r) => r.getMetricsAsJSON()));
}

/**
 * Call once in each worker thread that records metrics: the thread then hands its registries' metrics to the
 * main thread whenever the main thread's {@link threadMetricsAggregator} gathers. Throws on the main thread, and
 * a `TypeError` for a value that is not a registry of either client.
 */
export function workerThreadMetrics(options: WorkerThreadOptions = {}): WorkerThreadMetrics {
  if (isMainThread) throw new Error('mesh-metrics: workerThreadMetrics() runs in a worker thread');
  const { registries } = registriesOf(options);
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  const post = (m: Message): void => channel.postMessage(m);
  let welcomed: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    welcomed = resolve;
  });
  channel.onmessage = (event: unknown) => {
    const m = (event as { data?: Message }).data;
    if (m?.type === 'welcome' && m.threadId === threadId) welcomed();
    if (m?.type === 'roll-call') post({ type: 'hello', threadId });
    if (m?.type !== 'collect') return;
    collect(registries).then(
      (metrics) => post({ type: 'metrics', id: m.id, threadId, metrics }),
      (error: unknown) => post({ type: 'metrics', id: m.id, threadId, error: String(error) }),
    );
  };
  post({ type: 'hello', threadId });
  return { ready, dispose: () => channel.close() };
}

interface Gathering {
  readonly waiting: Set<number>;
  readonly replies: unknown[];
  readonly done: () => void;
  readonly fail: (error: Error) => void;
}

/** The main thread's side of the bridge: who answers, and the gatherings under way. */
class ThreadGatherer {
  private readonly channel = new BroadcastChannel(CHANNEL);
  private readonly known = new Set<number>();
  private readonly gone = new Set<number>();
  private readonly gatherings = new Map<number, Gathering>();
  private nextId = 0;

  constructor() {
    this.channel.unref();
    this.channel.onmessage = (event: unknown) => this.onMessage((event as { data?: Message }).data);
    // Workers made from now on are watched, so one that exits is no longer waited for.
    process.on('worker', (worker: Worker) => {
      const id = worker.threadId;
      worker.once('exit', () => this.leave(id));
    });
    this.channel.postMessage({ type: 'roll-call' } satisfies Message);
  }

  private leave(id: number): void {
    this.known.delete(id);
    this.gone.add(id);
    for (const g of this.gatherings.values()) if (g.waiting.delete(id) && g.waiting.size === 0) g.done();
  }

  private onMessage(m: Message | undefined): void {
    if (m?.type === 'hello' && !this.gone.has(m.threadId)) {
      this.known.add(m.threadId);
      this.channel.postMessage({ type: 'welcome', threadId: m.threadId } satisfies Message);
    }
    if (m?.type !== 'metrics') return;
    const g = this.gatherings.get(m.id);
    if (g === undefined || !g.waiting.has(m.threadId)) return;
    if (m.error !== undefined) {
      g.fail(new ClusterMetricsError(`mesh-metrics: worker thread ${m.threadId} could not collect its metrics: ${m.error}`));
      return;
    }
    g.waiting.delete(m.threadId);
    g.replies.push(...(Array.isArray(m.metrics) ? m.metrics : []));
    if (g.waiting.size === 0) g.done();
  }

  /** Every known worker's metrics (arrays of `getMetricsAsJSON()`), or a rejection after `timeoutMs`. */
  gather(timeoutMs: number): Promise<unknown[]> {
    const id = this.nextId++;
    const waiting = new Set(this.known);
    if (waiting.size === 0) return Promise.resolve([]);
    return new Promise<unknown[]>((resolve, reject) => {
      const replies: unknown[] = [];
      const end = (): void => {
        clearTimeout(timer);
        this.gatherings.delete(id);
      };
      const timer = setTimeout(() => {
        end();
        reject(new ClusterMetricsError(`mesh-metrics: a worker thread did not send its metrics within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        end();
        resolve(replies);
      };
      const fail = (error: Error): void => {
        end();
        reject(error);
      };
      this.gatherings.set(id, { waiting, replies, done, fail });
      this.channel.postMessage({ type: 'collect', id } satisfies Message);
    });
  }
}

let gatherer: ThreadGatherer | undefined;

/** Options of {@link threadMetricsAggregator}. */
export interface ThreadAggregatorOptions extends WorkerThreadOptions {
  /**
   * How long a gathering waits for every worker thread before it rejects.
   * @defaultValue 4000
   */
  readonly timeoutMs?: number;
}

/**
 * On the main thread: starts listening for worker threads (call it before the pool starts, so a worker that exits
 * is seen leaving) and returns a function giving the main thread's registries and every worker thread's metrics,
 * combined family by family, as Prometheus text. It rejects with a {@link ClusterMetricsError} when a worker
 * thread has not answered within `timeoutMs`. A worker thread that has exited is left out, like a restarted
 * process.
 */
export function threadMetricsAggregator(options: ThreadAggregatorOptions = {}): () => Promise<string> {
  if (!isMainThread) throw new Error('mesh-metrics: threadMetricsAggregator() runs on the main thread');
  const { client, registries } = registriesOf(options);
  const timeoutMs = options.timeoutMs ?? 4000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new TypeError(`timeoutMs must be a positive integer, got ${describeValue(timeoutMs)}`);
  }
  const m = client.module as unknown as Record<string, { aggregate(all: unknown[]): Registry }>;
  const aggregate = (m.ClusterRegistry ?? m.AggregatorRegistry) as { aggregate(all: unknown[]): Registry };
  const shared = (gatherer ??= new ThreadGatherer());
  return async () => {
    const [own, workers] = await Promise.all([collect(registries), shared.gather(timeoutMs)]);
    const all = [...own, ...workers];
    return all.length === 0 ? '' : aggregate.aggregate(all).metrics();
  };
}
