/**
 * Scrape, in one pinned process: 10,000 histogram series, rendered by prom-client's own Histogram and
 * `registry.metrics()`, by the kit's families through `registry.metrics()`, and by the kit's exposition writer.
 * Each request returns the render time, the longest event-loop block seen meanwhile, and the body's size.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import promClient, { type Registry } from 'prom-client';
import { renderExposition } from '../../lib/exposition-writer.js';
import { LoadBalancerMetrics } from '../../lib/load-balancer-metrics.js';
import { DEFAULT_BUCKETS } from '../../lib/options.js';
import { serveRequests } from '../child.js';

export const SERIES = 10_000;
const NAME = 'mesh_lb_request_duration_seconds';
const HELP = 'Duration of attempts sent to an instance, in seconds.';

function instance(i: number): string {
  return `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;
}

function seconds(i: number, k: number): number {
  return ((i * 7 + k * 13) % 100) / 40;
}

function kitRegistry(): Registry {
  const registry = new promClient.Registry();
  const lb = new LoadBalancerMetrics({ registry, maxSeries: SERIES * 2 });
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

const registries = { prom: promRegistry(), kit: kitRegistry() };
const renderers: Record<string, () => Promise<string>> = {
  prom: () => registries.prom.metrics(),
  kitViaRegistry: () => registries.kit.metrics(),
  writer: () => renderExposition(registries.kit),
};

async function render(which: string): Promise<ScrapeSample> {
  const renderer = renderers[which];
  if (renderer === undefined) throw new Error(`no renderer ${which}`);
  (globalThis as { gc?: () => void }).gc?.();
  const r = await measureBlock(renderer);
  return { ms: r.ms, blockMs: r.blockMs, bytes: Buffer.byteLength(r.value), gzipBytes: gzipSync(r.value).length };
}

/** Whether the writer's text equals prom-client's for the same series (a sanity check of the comparison). */
async function sameText(): Promise<boolean> {
  const [a, b] = await Promise.all([registries.prom.metrics(), renderExposition(registries.kit)]);
  return a === b;
}

serveRequests({ series: SERIES }, { render: (m) => render(String(m.which)), sameText });
