import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { aggregateClusterMetrics } from '../lib/cluster-aggregation.js';
import { clusterProtobuf, clusterSpeaksProtobuf, listenOnPrimary } from '../lib/cluster-native.js';
import { aggregateFromPrimary, isClusterWorker } from '../lib/cluster-one-port.js';
import { threadMetricsAggregator, type ThreadAggregatorOptions } from '../lib/thread-aggregation.js';
import { describeValue } from '../lib/options.js';
import { PROTOBUF_CONTENT_TYPE } from '../lib/protobuf-exposition.js';
import type { KoaScrapeContext } from './metrics-handler.js';
import { acceptsProtobuf } from './protobuf-scrape.js';

const gzipAsync = promisify(gzip);

/** The Prometheus text format, which the clients' cluster aggregation produces. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link clusterMetricsHandler}. */
export interface ClusterMetricsHandlerOptions {
  /**
   * How long the primary waits for every worker's metrics before answering 503. The client's own limit of 5 s
   * applies too. Keep it below Prometheus' `scrape_timeout`.
   * @defaultValue 4000
   */
  readonly timeoutMs?: number;
}

/** Options of {@link koaClusterMetricsHandler}. */
export interface KoaClusterMetricsHandlerOptions extends ClusterMetricsHandlerOptions {
  /**
   * The path it answers on; every other request is passed on.
   * @defaultValue `"/metrics"`
   */
  readonly path?: string;
}

/** The parts of a Koa context the Koa twin uses (Koa 2 and 3 both fit): the scrape handler's, less the request. */
export type KoaContextLike = Omit<KoaScrapeContext, 'req'>;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

function checkTimeout(options: ClusterMetricsHandlerOptions): number {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const timeoutMs = options.timeoutMs ?? 4000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new TypeError(`timeoutMs must be a positive integer, got ${describeValue(timeoutMs)}`);
  }
  return timeoutMs;
}

function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  const accept = headers['accept-encoding'];
  if (typeof accept !== 'string') return false;
  for (const part of accept.split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function unavailable(error: unknown): Answer {
  const message = error instanceof Error ? error.message : String(error);
  const plain = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
  return { status: 503, headers: plain, body: `${message}\n` };
}

/** The combined metrics as Prometheus text, gzipped when accepted. */
async function textAnswer(text: string, gzipped: boolean): Promise<Answer> {
  const ok = { 'Content-Type': PROMETHEUS_TEXT, 'Cache-Control': 'no-store', Vary: 'Accept, Accept-Encoding' };
  if (!gzipped) return { status: 200, headers: ok, body: text };
  return { status: 200, headers: { ...ok, 'Content-Encoding': 'gzip' }, body: await gzipAsync(text) };
}

/**
 * A protobuf scrape on the primary: the workers' combined metrics, native histograms merged bucket by bucket; in
 * text when no worker has native histograms on (as `protobuf: "auto"` does for the other handlers).
 */
async function protobufAnswer(timeoutMs: number, gzipped: boolean): Promise<Answer> {
  let body: Buffer | string;
  try {
    body = await clusterProtobuf(timeoutMs, gzipped);
  } catch (error) {
    return unavailable(error);
  }
  if (typeof body === 'string') return textAnswer(body, gzipped);
  const headers: Record<string, string> = {
    'Content-Type': PROTOBUF_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    Vary: 'Accept, Accept-Encoding',
  };
  if (gzipped) headers['Content-Encoding'] = 'gzip';
  return { status: 200, headers, body };
}

/** Where a handler's answer comes from, chosen once when the handler is made. */
interface Source {
  /** The combined metrics as Prometheus text. */
  readonly text: (timeoutMs: number) => Promise<string>;
  /** Whether a protobuf scrape gets protobuf: only the `node:cluster` primary combines native histograms. */
  readonly protobuf: boolean;
}

/** The cluster handler's source: on the primary it gathers the workers itself; in a worker it asks the primary. */
function clusterSource(): Source {
  if (isClusterWorker()) return { text: aggregateFromPrimary, protobuf: false };
  listenOnPrimary(); // learn which workers answer protobuf scrapes
  return { text: aggregateClusterMetrics, protobuf: true };
}

/** One scrape: the combined metrics, or 503 saying why not. */
async function answer(source: Source, timeoutMs: number, headers: IncomingHttpHeaders): Promise<Answer> {
  if (source.protobuf && acceptsProtobuf(headers) && (await clusterSpeaksProtobuf())) {
    return protobufAnswer(timeoutMs, acceptsGzip(headers));
  }
  let text: string;
  try {
    text = await source.text(timeoutMs);
  } catch (error) {
    return unavailable(error);
  }
  return textAnswer(text, acceptsGzip(headers));
}

/**
 * The scrape handler of a `node:cluster` app (Express 4 and 5, or a plain `http.createServer`): it answers with the
 * sum of every worker's metrics, combined by the client's cluster registry (prom-client's `AggregatorRegistry`, or
 * `@prometheus-io/client`'s `ClusterRegistry`) with each family's aggregation (see `CLUSTER_AGGREGATION`). Each
 * worker calls `clusterWorkerMetrics()` once. Mounted on the primary, it gathers the workers itself; mounted in a
 * worker (one public port), it asks the primary, which must call `clusterPrimaryMetrics()`, so every worker answers
 * with the same aggregate, never with its own numbers. When a worker does not answer within `timeoutMs`, the
 * scrape gets `503` with a one-line reason instead of a partial sum (a missing worker would make counters go
 * backwards); Prometheus marks that one scrape failed and the next one recovers. On the primary, a scrape that
 * prefers protobuf gets the same sums in protobuf, the workers' native histograms merged, when every worker answers
 * the kit's request (text otherwise; a worker-mounted handler always answers text). It checks no token: serve it on
 * an internal port, or put your own auth middleware in front of it.
 */
export function clusterMetricsHandler(
  options: ClusterMetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const timeoutMs = checkTimeout(options);
  return nodeHandler(clusterSource(), timeoutMs);
}

/**
 * The scrape handler for an app whose worker threads record (each calls `workerThreadMetrics()` once): on the main
 * thread it answers with the main thread's registries plus every worker thread, combined as in a cluster (see
 * `threadMetricsAggregator()`, which it calls once, so make it before the pool starts). A worker thread that does
 * not answer within `timeoutMs` makes the scrape a 503 with a one-line reason, never a partial sum. It answers the
 * Prometheus text format.
 */
export function threadMetricsHandler(
  options: ThreadAggregatorOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const aggregate = threadMetricsAggregator(options);
  return nodeHandler({ text: () => aggregate(), protobuf: false }, 1);
}

function nodeHandler(source: Source, timeoutMs: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    answer(source, timeoutMs, req.headers).then(
      (a) => {
        res.writeHead(a.status, a.headers);
        res.end(req.method === 'HEAD' ? undefined : a.body);
      },
      () => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('mesh-metrics: internal error\n');
      },
    );
  };
}

/** The Koa (2 and 3) twin of {@link clusterMetricsHandler}: answers `GET`/`HEAD` on `path`, passes the rest on. */
export function koaClusterMetricsHandler(
  options: KoaClusterMetricsHandlerOptions = {},
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  const timeoutMs = checkTimeout(options);
  const path = checkPath(options.path);
  return koaHandler(clusterSource(), timeoutMs, path);
}

/** Options of {@link koaThreadMetricsHandler}. */
export interface KoaThreadMetricsHandlerOptions extends ThreadAggregatorOptions {
  /**
   * The path it answers on; every other request is passed on.
   * @defaultValue `"/metrics"`
   */
  readonly path?: string;
}

/** The Koa (2 and 3) twin of {@link threadMetricsHandler}: answers `GET`/`HEAD` on `path`, passes the rest on. */
export function koaThreadMetricsHandler(
  options: KoaThreadMetricsHandlerOptions = {},
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  const path = checkPath(options?.path);
  const aggregate = threadMetricsAggregator(options);
  return koaHandler({ text: () => aggregate(), protobuf: false }, 1, path);
}

function checkPath(given: unknown): string {
  const path = given ?? '/metrics';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`path must be a string starting with "/", got ${describeValue(path)}`);
  }
  return path;
}

function koaHandler(
  source: Source,
  timeoutMs: number,
  path: string,
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  return async (ctx, next) => {
    if (ctx.path !== path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    const a = await answer(source, timeoutMs, ctx.headers);
    ctx.status = a.status;
    for (const [name, value] of Object.entries(a.headers)) ctx.set(name, value);
    ctx.body = a.body;
  };
}
