import { FAMILY_MARKER } from './family.js';
import { GaugeFamily, type GaugeSeries } from './gauge.js';
import type { ResolvedMetricsOptions } from './options.js';
import type { SelfMetrics } from './self-metrics.js';

/** Lists, at scrape time, series of one gauge family: label values (in the family's order) and the value. */
export type GaugeSource = () => Iterable<readonly [labels: readonly unknown[], value: number]>;

const SOURCES = Symbol.for('mesh-metrics.gauge-sources');

/**
 * A gauge family whose values are read from its sources when the registry is scraped, so that keeping it current
 * costs nothing per request. Its series are exactly what the sources list at that moment; a label set listed by more
 * than one source (two retry budgets, or two dispatchers' pools, of one service) has the sum of their values.
 */
export class SourcedGaugeFamily<L extends string> extends GaugeFamily<L> {
  readonly [SOURCES] = new Set<GaugeSource>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    options: ResolvedMetricsOptions,
    private readonly self: SelfMetrics,
  ) {
    super({ name, help, labelNames, options, faults: self });
  }

  /** Adds a source; `dispose()` takes it away. */
  watch(source: GaugeSource): { dispose(): void } {
    this[SOURCES].add(source);
    return { dispose: () => void this[SOURCES].delete(source) };
  }

  /**
   * The series as the sources list them now. Every reader goes through here: prom-client's `get()`, and the kit's
   * own exposition writers, which iterate the series directly.
   */
  override *series(): IterableIterator<GaugeSeries> {
    this.refresh();
    yield* super.series();
  }

  private refresh(): void {
    this.reset();
    for (const source of this[SOURCES]) {
      try {
        for (const [labels, value] of source()) {
          // added, not set: two sources listing one label set (two budgets or pools of one service) add up
          if (typeof value === 'number' && Number.isFinite(value)) this.labels(...(labels as [unknown?, unknown?, unknown?, unknown?])).inc(value);
        }
      } catch {
        this.self.internal();
      }
    }
  }
}

/** The registry's family of this name when it is a sourced gauge of the kit's; a new one registered otherwise. */
export function sourcedGaugeFamily<L extends string>(
  o: ResolvedMetricsOptions,
  self: SelfMetrics,
  spec: { readonly name: string; readonly help: string; readonly labelNames: readonly L[] },
): SourcedGaugeFamily<L> {
  const name = o.prefix + spec.name;
  const existing = o.registry.getSingleMetric(name) as unknown as Record<symbol, unknown> | undefined;
  if (existing !== undefined) {
    if (existing[FAMILY_MARKER] === true && existing[SOURCES] instanceof Set) return existing as unknown as SourcedGaugeFamily<L>;
    throw new Error(`metric ${name} is already registered, not as mesh-metrics' gauge read at scrape time`);
  }
  const family = new SourcedGaugeFamily<L>(name, spec.help, spec.labelNames, o, self);
  o.registry.registerMetric(family as never);
  return family;
}
