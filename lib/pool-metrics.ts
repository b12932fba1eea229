import { resolveMetricsOptions, type MetricsOptions } from './options.js';
import { SelfMetrics } from './self-metrics.js';
import { sourcedGaugeFamily, type SourcedGaugeFamily } from './sourced-gauge.js';

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

/**
 * `mesh_lb_pool_connections`, `mesh_lb_pool_pending_requests`, `mesh_lb_pool_running_requests` and
 * `mesh_lb_pool_requests`, each `{service,instance}`: what the undici pools report (`connected`, `pending`,
 * `running`, `size`), read when the registry is scraped. {@link watch} adds a source; `dispose()` removes it.
 */
export class PoolMetrics {
  private readonly families: SourcedGaugeFamily<'service' | 'instance'>[];

  constructor(options: MetricsOptions = {}) {
    const o = resolveMetricsOptions(options);
    const self = new SelfMetrics(o);
    this.families = STATS.map(([, name, help]) => sourcedGaugeFamily(o, self, { name, help, labelNames: ['service', 'instance'] }));
  }

  watch(source: PoolSource): { dispose(): void } {
    const subscriptions = this.families.map((family, i) => {
      const stat = STATS[i]![0];
      return family.watch(function* () {
        for (const [service, instance, stats] of source()) {
          const v = stats[stat];
          if (typeof v === 'number') yield [[service, instance], v] as const;
        }
      });
    });
    return { dispose: () => subscriptions.forEach((s) => s.dispose()) };
  }
}
