import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { expositionPieces, gzipExposition, renderExposition } from './exposition-writer.js';

/** A rendered scrape body and the content type it must be served with. */
export interface RenderedMetrics {
  readonly body: string;
  readonly contentType: string;
}

/**
 * Renders a registry's exposition in the registry's own format (Prometheus text 0.0.4, or OpenMetrics for a registry
 * whose content type is `Registry.OPENMETRICS_CONTENT_TYPE`). The one entry point every scrape handler calls; it may reject
 * when a collector throws.
 */
export async function renderMetrics(registry: Registry): Promise<RenderedMetrics> {
  // Equal to registry.metrics(), but the kit's families are written in slices that yield to the event loop.
  const body = await renderExposition(registry);
  return { body, contentType: registry.contentType };
}

/**
 * {@link renderMetrics} with the body gzipped, compressed piece by piece while it is rendered, so a large
 * exposition is never held or converted as one block (it decompresses to the same text).
 */
export async function renderMetricsGzipped(
  registry: Registry,
): Promise<{ readonly body: Buffer; readonly contentType: string }> {
  const body = await gzipExposition(registry);
  return { body, contentType: registry.contentType };
}

/**
 * {@link renderMetrics} as UTF-8 pieces for a response to write one after another (what a scrape without gzip
 * serves), so a large exposition is never turned into one string and one buffer while the event loop waits.
 */
export async function renderMetricsPieces(
  registry: Registry,
): Promise<{ readonly body: readonly Buffer[]; readonly contentType: string }> {
  const body = await expositionPieces(registry);
  return { body, contentType: registry.contentType };
}
