import { FAMILY_MARKER, type MetricObject } from './family.js';
import { GaugeFamily } from './gauge.js';
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './options.js';
import { SelfMetrics } from './self-metrics.js';

/** What an undici pool (or client) reports about itself: `pool.stats`. */
export interface PoolStatsLike {
  readonly connected?: number;
  readonly pending?: number;
  readonly running?: number;
  readonly size?: number;
}

/** Something that, at scrape time, lists the pools of one service by instance origin. */
export type PoolSource = () => Iterable<readonly [service: string, instance: string, stats: PoolStatsLike]>;

const STATS = [
  ['connected', 'lb_pool_connections', 'Connections an undici pool holds open to an instance.'],
  ['pending', 'lb_pool_pending_requests', 'Requests an undici pool has queued for an instance, not yet sent.'],
  ['running', 'lb_pool_running_requests', 'Requests an undici pool has sent to an instance and not finished.'],
  ['size', 'lb_pool_requests', 'Requests an undici pool holds for an instance (pending plus running).'],
] as const;

const SOURCES = Symbol.for('mesh-metrics.pool-sources');

/** A gauge family read from the pools at scrape time: nothing is done per request. */
class PoolGaugeFamily extends GaugeFamily<'service' | 'instance'> {
  readonly [SOURCES] = new Set<PoolSource>();

  constructor(
    name: string,
    help: string,
    private readonly stat: (typeof STATS)[number][0],
    options: ResolvedMetricsOptions,
    private readonly self: SelfMetrics,
  ) {
    super({ name, help, labelNames: ['service', 'instance'], options, faults: self });
  }

  override get(): MetricObject {
    this.reset();
    for (const source of this[SOURCES]) {
      try {
        for (const [service, instance, stats] of source()) {
          const v = stats[this.stat];
          if (typeof v === 'number' && Number.isFinite(v)) this.labels(service, instance).set(v);
        }
      } catch {
        this.self.internal();
      }
    }
    return super.get();
  }
}

function obtain(o: ResolvedMetricsOptions, self: SelfMetrics, spec: (typeof STATS)[number]): PoolGaugeFamily {
  const name = o.prefix + spec[1];
  const existing = o.registry.getSingleMetric(name) as unknown as Record<symbol, unknown> | undefined;
  if (existing !== undefined) {
    if (existing[FAMILY_MARKER] === true && existing[SOURCES] instanceof Set) return existing as unknown as PoolGaugeFamily;
    throw new Error(`metric ${name} is already registered, not as mesh-metrics' pool gauge`);
  }
  const family = new PoolGaugeFamily(name, spec[2], spec[0], o, self);
  o.registry.registerMetric(family as never);
  return family;
}

/**
 * `mesh_lb_pool_connections`, `mesh_lb_pool_pending_requests`, `mesh_lb_pool_running_requests` and
 * `mesh_lb_pool_requests`, each `{service,instance}`: what the undici pools report (`connected`, `pending`,
 * `running`, `size`), read when the registry is scraped. {@link watch} adds a source; `dispose()` removes it.
 */
export class PoolMetrics {
  private readonly families: PoolGaugeFamily[];

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = new SelfMetrics(o);
    this.families = STATS.map((spec) => obtain(o, self, spec));
  }

  watch(source: PoolSource): { dispose(): void } {
    for (const f of this.families) f[SOURCES].add(source);
    return { dispose: () => this.families.forEach((f) => f[SOURCES].delete(source)) };
  }
}
