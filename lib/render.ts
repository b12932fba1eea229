import type { Registry, RegistryContentType } from 'prom-client';

/** A rendered scrape body and the content type it must be served with. */
export interface RenderedMetrics {
  readonly body: string;
  readonly contentType: string;
}

/**
 * Renders a registry's exposition in the registry's own format (Prometheus text 0.0.4, or OpenMetrics for a registry
 * created with `Registry.OPENMETRICS_CONTENT_TYPE`). The one entry point every scrape handler calls; it may reject
 * when a collector throws.
 */
export async function renderMetrics(registry: Registry<RegistryContentType>): Promise<RenderedMetrics> {
  const body = await registry.metrics();
  return { body, contentType: registry.contentType };
}
