import cluster, { type Worker } from 'node:cluster';
import { defaultMetricsClient } from './client.js';
import { ClusterMetricsError } from './cluster-aggregation.js';
import { HistogramFamily } from './histogram.js';
import { NativeHistogram, type NativeHistogramSnapshot } from './native-histogram.js';
import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { gzipProtobufWith, protobufPiecesWith, type NativeOverlay } from './protobuf-exposition.js';

/*
 * The protobuf scrape of a `node:cluster` primary. prom-client's cluster protocol carries only `get()` values, so a
 * protobuf scrape uses a request of the kit's own: each worker answers with its registries' `getMetricsAsJSON()`
 * (what the client's protocol sends) plus the native buckets of the kit's histogram series. The primary combines
 * the former with the default client's `aggregate` (the same sums as the text answer; on `@prometheus-io/client`
 * 0.16 the primary's own global `register` is added, as that client's text answer adds it) and the latter
 * bucket by bucket, at the lowest schema any worker reached, and encodes the result.
 */

const REQUEST = 'mesh-metrics:cluster-protobuf-req';
const RESPONSE = 'mesh-metrics:cluster-protobuf-res';
/** A worker says it answers {@link REQUEST}: on start, and again when a primary's handler asks ({@link HELLO}). */
const READY = 'mesh-metrics:cluster-protobuf-ready';
const HELLO = 'mesh-metrics:cluster-protobuf-hello';

/** One series' native buckets as a worker sends them, labelled as `getMetricsAsJSON()` labels it. */
interface SeriesSnapshot extends NativeHistogramSnapshot {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface WorkerAnswer {
  readonly type: typeof RESPONSE;
  readonly requestId: number;
  readonly metrics?: unknown[];
  readonly native?: SeriesSnapshot[];
  /** Whether the worker has a histogram family with native histograms on (with series or not yet). */
  readonly hasNative?: boolean;
  readonly error?: string;
}

let workerRegistries: readonly Registry[] = [];
let workerListening = false;

interface RegistryInternals {
  _defaultLabels?: Record<string, string>;
}

function hasNativeFamily(registries: readonly Registry[]): boolean {
  return registries.some((r) =>
    (r.getMetricsAsArray() as unknown[]).some((m) => m instanceof HistogramFamily && m.nativeHistograms !== null),
  );
}

function snapshots(registries: readonly Registry[]): SeriesSnapshot[] {
  const out: SeriesSnapshot[] = [];
  for (const registry of registries) {
    const defaults = (registry as unknown as RegistryInternals)._defaultLabels ?? {};
    for (const metric of registry.getMetricsAsArray() as unknown[]) {
      if (!(metric instanceof HistogramFamily) || metric.nativeHistograms === null) continue;
      for (const series of metric.series()) {
        if (series.native === undefined) continue;
        // the label set getMetricsAsJSON() gives the same series: its own labels, then the missing defaults
        const labels: Record<string, string> = { ...series.labels };
        for (const name of Object.keys(defaults)) labels[name] = labels[name] || (defaults[name] as string);
        out.push({ name: metric.name, labels, ...series.native.snapshot() });
      }
    }
  }
  return out;
}

async function answer(requestId: number): Promise<WorkerAnswer> {
  try {
    const metrics = await Promise.all(workerRegistries.map((r) => r.getMetricsAsJSON()));
    const hasNative = hasNativeFamily(workerRegistries);
    return { type: RESPONSE, requestId, metrics, native: snapshots(workerRegistries), hasNative };
  } catch (error) {
    return { type: RESPONSE, requestId, error: error instanceof Error ? error.message : String(error) };
  }
}

/** In a worker: answer the primary's protobuf requests for these registries (called by `clusterWorkerMetrics`). */
export function serveClusterProtobuf(registries: readonly Registry[]): void {
  workerRegistries = registries;
  if (workerListening || !cluster.isWorker) return;
  workerListening = true;
  process.on('message', (message: { type?: unknown; requestId?: unknown }) => {
    if (message?.type === HELLO) process.send?.({ type: READY });
    if (message?.type !== REQUEST || typeof message.requestId !== 'number') return;
    void answer(message.requestId).then((a) => process.send?.(a));
  });
  process.send?.({ type: READY });
}

interface Pending {
  readonly answers: WorkerAnswer[];
  waiting: number;
  done(error: Error | null): void;
}

const pending = new Map<number, Pending>();
let nextRequestId = 1;
let primaryListening = false;
/** Workers that said they answer the kit's protobuf request (by `worker.id`). */
const ready = new Set<number>();
/** When each worker was asked; one that has not said it is ready within the grace does not speak the request. */
const asked = new Map<number, number>();
/** Called on every ready message: waiters for workers asked during a scrape. */
const readyWaiters = new Set<() => void>();
/** How long after asking a worker a scrape still waits for its answer. */
const HELLO_GRACE_MS = 1000;

/**
 * On the primary: starts listening to the workers (once), and asks those already running whether they answer the
 * kit's protobuf request. Called when a cluster scrape handler is made.
 */
export function listenOnPrimary(): void {
  if (primaryListening || !cluster.isPrimary) return;
  primaryListening = true;
  cluster.on('exit', (worker) => ready.delete(worker.id));
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker === undefined || !worker.isConnected()) continue;
    asked.set(worker.id, Date.now());
    send(worker, { type: HELLO });
  }
  cluster.on('message', (worker, incoming: { type?: unknown } | null) => {
    if (incoming?.type === READY) {
      ready.add(worker.id);
      for (const wake of readyWaiters) wake();
    }
    if (incoming?.type !== RESPONSE) return;
    const message = incoming as WorkerAnswer;
    const request = pending.get(message.requestId);
    if (request === undefined) return;
    if (message.error !== undefined) {
      request.done(new ClusterMetricsError(`mesh-metrics: cluster workers' metrics could not be collected: ${message.error}`));
      return;
    }
    request.answers.push(message);
    if (--request.waiting === 0) request.done(null);
  });
}

/**
 * Sends to a worker. A channel that closed meanwhile calls `failed` (it never throws into the scrape, nor becomes an
 * unhandled 'error' on the primary).
 */
function send(worker: Worker, message: object, failed: () => void = () => {}): void {
  try {
    worker.send(message, undefined, {}, (error) => {
      if (error !== null && error !== undefined) failed();
    });
  } catch {
    failed();
  }
}

/** Every connected worker's answer, or a {@link ClusterMetricsError} after `timeoutMs`. */
function collect(timeoutMs: number): Promise<WorkerAnswer[]> {
  listenOnPrimary();
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    const answers: WorkerAnswer[] = [];
    const timer = setTimeout(() => {
      request.done(new ClusterMetricsError(`mesh-metrics: a cluster worker did not send its metrics within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
    const request: Pending = {
      answers,
      waiting: 0,
      done(error) {
        clearTimeout(timer);
        pending.delete(requestId);
        if (error === null) resolve(answers);
        else reject(error);
      },
    };
    pending.set(requestId, request);
    let sent = false;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker === undefined || !worker.isConnected()) continue;
      request.waiting++;
      // a worker gone meanwhile is left out, as an exited one is
      send(worker, { type: REQUEST, requestId }, () => {
        if (--request.waiting === 0 && sent && pending.has(requestId)) request.done(null);
      });
    }
    sent = true;
    if (request.waiting === 0) request.done(null);
  });
}

/** A label set's identity, whatever the order of its labels. */
export function labelKey(labels: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(labels).map(([name, value]) => [name, String(value)]);
  return JSON.stringify(entries.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)));
}

/** The workers' native buckets, series by series, merged at the lowest schema among them. */
function mergeNative(all: readonly SeriesSnapshot[]): NativeOverlay {
  const groups = new Map<string, Map<string, SeriesSnapshot[]>>();
  for (const s of all) {
    let byLabels = groups.get(s.name);
    if (byLabels === undefined) groups.set(s.name, (byLabels = new Map()));
    const key = labelKey(s.labels);
    byLabels.set(key, [...(byLabels.get(key) ?? []), s]);
  }
  const overlay = new Map<string, Map<string, NativeHistogram>>();
  for (const [name, byLabels] of groups) {
    const merged = new Map<string, NativeHistogram>();
    for (const [key, parts] of byLabels) {
      const h = new NativeHistogram({
        schema: Math.min(...parts.map((p) => p.schema)),
        maxBuckets: Math.max(...parts.map((p) => p.maxBuckets)),
        zeroThreshold: Math.max(...parts.map((p) => p.zeroThreshold)),
      });
      for (const p of parts) h.merge(p);
      merged.set(key, h);
    }
    overlay.set(name, merged);
  }
  return overlay;
}

/**
 * Whether every connected worker answers the kit's protobuf request (a worker set up with prom-client's
 * `AggregatorRegistry.setRegistries` alone does not): otherwise a cluster scrape is answered in text, as prom-client's
 * protocol allows. A worker not heard from yet is asked once, and waited for at most {@link HELLO_GRACE_MS} after.
 */
export async function clusterSpeaksProtobuf(): Promise<boolean> {
  listenOnPrimary();
  const unknown = Object.values(cluster.workers ?? {}).filter(
    (w): w is NonNullable<typeof w> => w !== undefined && w.isConnected() && !ready.has(w.id),
  );
  if (unknown.length === 0) return true;
  const now = Date.now();
  let deadline = 0;
  for (const w of unknown) {
    let at = asked.get(w.id);
    if (at === undefined) {
      asked.set(w.id, (at = now));
      send(w, { type: HELLO });
    }
    deadline = Math.max(deadline, at + HELLO_GRACE_MS);
  }
  const all = (): boolean => unknown.every((w) => ready.has(w.id) || !w.isConnected());
  // asked long enough ago and still silent: prom-client's protocol only, no wait
  if (deadline > now) await untilReady(all, deadline - now);
  return all();
}

/** Resolves once `all()` holds after a ready message, or after `ms`. */
function untilReady(all: () => boolean, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = (): void => {
      if (!all()) return;
      clearTimeout(timer);
      readyWaiters.delete(wake);
      resolve();
    };
    const timer = setTimeout(() => {
      readyWaiters.delete(wake);
      resolve();
    }, ms);
    timer.unref?.();
    readyWaiters.add(wake);
    wake();
  });
}

/**
 * On the primary: every worker's metrics combined, in the delimited protobuf format (gzipped when `gzipped`), the
 * kit's native histograms included; or, when `auto` and no worker has native histograms on, the same sums as
 * Prometheus text (a string), as the text answer gives them. Rejects with a {@link ClusterMetricsError} when a worker
 * does not answer in time or answers with an error.
 */
export async function clusterProtobuf(timeoutMs: number, gzipped: boolean, auto = true): Promise<Buffer | string> {
  const client = defaultMetricsClient();
  const answers = await collect(timeoutMs);
  const all: unknown[] = answers.flatMap((a) => a.metrics ?? []);
  // 0.16's cluster registry reports the primary's own metrics: the protobuf answer keeps the text answer's sums.
  if (client.name === '@prometheus-io/client') all.unshift(await client.module.register.getMetricsAsJSON());
  const m = client.module as unknown as Record<string, { aggregate(all: unknown[]): Registry } | undefined>;
  const registry = (m.ClusterRegistry ?? m.AggregatorRegistry)!.aggregate(all);
  if (auto && !answers.some((a) => a.hasNative === true)) return registry.metrics();
  const overlay = mergeNative(answers.flatMap((a) => a.native ?? []));
  if (gzipped) return gzipProtobufWith(registry, overlay);
  return Buffer.concat(await protobufPiecesWith(registry, overlay));
}
