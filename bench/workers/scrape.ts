/**
 * Scrape, in a pinned process: 10,000 histogram series, either prom-client's own Histogram (rendered by
 * `registry.metrics()`) or the kit's families (rendered by `registry.metrics()` and by the exposition writer),
 * served over HTTP too. `render` returns the render time, the longest event-loop block meanwhile, and the sizes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import promClient, { type Registry } from 'prom-client';
import { renderExposition } from '../../lib/exposition-writer.js';
import { protobufPieces } from '../../lib/protobuf-exposition.js';
import { LoadBalancerMetrics } from '../../lib/load-balancer-metrics.js';
import { DEFAULT_BUCKETS } from '../../lib/options.js';
import { metricsHandler } from '../../index.js';
import { serveRequests } from '../child.js';
import { listen } from './http.js';

export const SERIES = 10_000;
const NAME = 'mesh_lb_request_duration_seconds';
const HELP = 'Duration of attempts sent to an instance, in seconds.';

function instance(i: number): string {
  return `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;
}

function seconds(i: number, k: number): number {
  return ((i * 7 + k * 13) % 100) / 40;
}

function kitRegistry(native = false): Registry {
  const registry = new promClient.Registry();
  const lb = new LoadBalancerMetrics({ registry, maxSeries: SERIES * 2, nativeHistograms: native ? { schema: 3 } : false });
  for (let i = 0; i < SERIES; i++) for (let k = 0; k < 3; k++) lb.observeRequestDuration('users', instance(i), seconds(i, k));
  return registry;
}

function promRegistry(): Registry {
  const registry = new promClient.Registry();
  const h = new promClient.Histogram({
    name: NAME, help: HELP, labelNames: ['service', 'instance'], buckets: [...DEFAULT_BUCKETS], registers: [registry],
  });
  for (let i = 0; i < SERIES; i++) for (let k = 0; k < 3; k++) h.observe({ service: 'users', instance: instance(i) }, seconds(i, k));
  return registry;
}

export interface ScrapeSample {
  readonly ms: number;
  readonly blockMs: number;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/** Runs `work` with an event-loop delay monitor on; the longest block is the histogram's max. */
export async function measureBlock<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; blockMs: number }> {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  await sleep(20);
  monitor.enable();
  await sleep(5);
  const start = performance.now();
  const value = await work();
  const ms = performance.now() - start;
  await sleep(5);
  monitor.disable();
  return { value, ms, blockMs: monitor.max / 1e6 };
}

/**
 * argv[2]: `kit` holds only the kit's families, `prom` only prom-client's Histogram, as two real servers would;
 * `native` the kit's families with native histograms on (schema 3), scraped in protobuf.
 */
const side = process.argv[2] === 'prom' ? 'prom' : process.argv[2] === 'native' ? 'native' : 'kit';
const registry = side === 'prom' ? promRegistry() : kitRegistry(side === 'native');
const renderers: Record<string, () => Promise<string | Buffer[]>> =
  side === 'prom'
    ? { prom: () => registry.metrics() }
    : side === 'native'
      ? { protobuf: () => protobufPieces(registry) }
      : { kitViaRegistry: () => registry.metrics(), writer: () => renderExposition(registry) };

async function render(which: string): Promise<ScrapeSample> {
  const renderer = renderers[which];
  if (renderer === undefined) throw new Error(`no renderer ${which}`);
  (globalThis as { gc?: () => void }).gc?.();
  const r = await measureBlock(renderer);
  const body = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.concat(r.value);
  return { ms: r.ms, blockMs: r.blockMs, bytes: body.length, gzipBytes: gzipSync(body).length };
}

/**
 * Over HTTP, `/metrics`: the kit's real scrape handler (kit side), or the usual prom-client handler,
 * `res.end(await registry.metrics())` (prom side).
 */
const kitHandler = metricsHandler({ registry });
const port = await listen((req, res) => {
  if (side !== 'prom') {
    kitHandler(req, res);
    return;
  }
  registry.metrics().then((body) => {
    res.writeHead(200, { 'Content-Type': registry.contentType });
    res.end(body);
  });
});

let monitor: ReturnType<typeof monitorEventLoopDelay> | undefined;

serveRequests(
  { series: SERIES, port, side },
  {
    render: (m) => render(String(m.which)),
    blockStart: async () => {
      (globalThis as { gc?: () => void }).gc?.();
      monitor = monitorEventLoopDelay({ resolution: 1 });
      await sleep(20);
      monitor.enable();
      return true;
    },
    blockStop: async () => {
      await sleep(5);
      monitor?.disable();
      return (monitor?.max ?? 0) / 1e6;
    },
  },
);
