/**
 * The registry type of the kit's options: the members the kit uses of a `Registry`, so that a registry of
 * prom-client 15 or of `@prometheus-io/client` 0.16 fits, and a project with only one of the two packages
 * type-checks against the kit's declarations (they import neither package's types).
 */
export interface MetricsRegistry {
  /** `text/plain; version=0.0.4; charset=utf-8`, or the OpenMetrics content type. */
  readonly contentType: string;
  /** The whole exposition. */
  metrics(): Promise<string>;
  /** Registers a metric (typed `never`: the method of either package, taking its own `Metric` type, fits). */
  registerMetric(metric: never): void;
  /** The metric registered under `name`, if any. */
  getSingleMetric(name: string): unknown;
  /** Every registered metric. */
  getMetricsAsArray(): readonly unknown[];
  /** Every metric's values, as the cluster and worker-thread aggregation hand them on. */
  getMetricsAsJSON(): Promise<readonly unknown[]>;
  /** Unregisters the metric named `name`. */
  removeSingleMetric(name: string): void;
  /** Resets every metric's values. */
  resetMetrics(): void;
  /** Switches between the text format and OpenMetrics (typed `never` for the same reason as `registerMetric`). */
  setContentType(contentType: never): void;
}
