/**
 * One public port: when only the workers' shared port can be reached (Heroku, many PaaS), a scrape lands on a
 * random worker. That worker asks the primary over the cluster's IPC channel; the primary gathers every worker
 * (see `aggregateClusterMetrics`) and sends the aggregate back, so every worker answers with the same sum.
 */
import { createRequire } from 'node:module';
import { aggregateClusterMetrics, ClusterMetricsError } from './cluster-aggregation.js';
import { describeValue } from './options.js';

const require = createRequire(import.meta.url);

const REQUEST = 'mesh-metrics:cluster-scrape';
const REPLY = 'mesh-metrics:cluster-scrape-reply';

/** How much longer than the primary's own wait a worker waits for the primary's reply. */
const REPLY_MARGIN_MS = 250;

interface Request {
  readonly type: typeof REQUEST;
  readonly id: number;
  readonly timeoutMs: number;
}

interface Reply {
  readonly type: typeof REPLY;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

type ClusterModule = typeof import('node:cluster').default;
type ClusterWorker = import('node:cluster').Worker;

// Loaded on first need: some application servers crash when node:cluster is merely imported.
function cluster(): ClusterModule {
  return require('node:cluster') as ClusterModule;
}

/** Whether this process is a `node:cluster` worker (a worker-mounted scrape handler then asks the primary). */
export function isClusterWorker(): boolean {
  return cluster().isWorker;
}

function isRequest(m: unknown): m is Request {
  const r = m as Partial<Request> | null;
  return r?.type === REQUEST && typeof r.id === 'number' && typeof r.timeoutMs === 'number';
}

/** What {@link clusterPrimaryMetrics} returns: the primary answers the workers until `dispose()`. */
export interface ClusterPrimaryMetrics {
  /** Stops answering the workers' requests. */
  dispose(): void;
}

let serving: ClusterPrimaryMetrics | undefined;

/**
 * Call once in the `node:cluster` primary when the scrapes reach the workers' shared port (the workers mount
 * `clusterMetricsHandler()` there): the primary then answers each worker's request with the aggregate of all
 * workers. Returns a `dispose()` that stops answering. A second call returns the first one's disposable.
 */
export function clusterPrimaryMetrics(): ClusterPrimaryMetrics {
  if (serving !== undefined) return serving;
  const c = cluster();
  if (!c.isPrimary) throw new Error('mesh-metrics: clusterPrimaryMetrics() runs in the node:cluster primary');
  const onMessage = (worker: ClusterWorker, m: unknown): void => {
    if (!isRequest(m)) return;
    const send = (reply: Reply): void => {
      if (worker.isConnected()) worker.send(reply, undefined, () => undefined);
    };
    aggregateClusterMetrics(m.timeoutMs).then(
      (text) => send({ type: REPLY, id: m.id, text }),
      (error: unknown) => send({ type: REPLY, id: m.id, error: error instanceof Error ? error.message : String(error) }),
    );
  };
  c.on('message', onMessage);
  const disposable: ClusterPrimaryMetrics = {
    dispose() {
      c.off('message', onMessage);
      if (serving === disposable) serving = undefined;
    },
  };
  serving = disposable;
  return disposable;
}

interface Pending {
  readonly resolve: (text: string) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const pending = new Map<number, Pending>();
let nextId = 0;
let listening = false;

function onReply(m: unknown): void {
  const r = m as Partial<Reply> | null;
  if (r?.type !== REPLY || typeof r.id !== 'number') return;
  const p = pending.get(r.id);
  if (p === undefined) return;
  pending.delete(r.id);
  clearTimeout(p.timer);
  if (typeof r.text === 'string') p.resolve(r.text);
  else p.reject(new ClusterMetricsError(typeof r.error === 'string' ? r.error : 'mesh-metrics: the primary failed'));
}

/**
 * In a worker: the aggregate of every worker, from the primary. Rejects with a {@link ClusterMetricsError} when the
 * primary could not gather it within `timeoutMs`, or did not answer (no `clusterPrimaryMetrics()` there).
 */
export function aggregateFromPrimary(timeoutMs: number): Promise<string> {
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 1)) {
    return Promise.reject(new TypeError(`timeoutMs must be a positive integer, got ${describeValue(timeoutMs)}`));
  }
  if (typeof process.send !== 'function' || !process.connected) {
    return Promise.reject(new ClusterMetricsError('mesh-metrics: this worker is not connected to the cluster primary'));
  }
  if (!listening) {
    listening = true;
    process.on('message', onReply);
  }
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const waitMs = timeoutMs + REPLY_MARGIN_MS;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(
        new ClusterMetricsError(
          `mesh-metrics: the cluster primary did not answer within ${waitMs} ms (does it call clusterPrimaryMetrics()?)`,
        ),
      );
    }, waitMs);
    pending.set(id, { resolve, reject, timer });
    const request: Request = { type: REQUEST, id, timeoutMs };
    process.send?.(request, undefined, {}, (error: Error | null) => {
      if (error === null || !pending.has(id)) return;
      pending.delete(id);
      clearTimeout(timer);
      reject(new ClusterMetricsError(`mesh-metrics: could not ask the cluster primary: ${error.message}`, { cause: error }));
    });
  });
}
