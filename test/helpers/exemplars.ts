import { Registry } from './client.js';

/** A sampled trace, as a W3C `traceparent` header and its trace id. */
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** A registry rendering OpenMetrics, the only format that carries exemplars. */
export function openMetricsRegistry(): Registry {
  const registry = new Registry();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  return registry;
}

/** The bucket lines of `metric` that carry an exemplar. */
export function exemplarLines(text: string, metric: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${metric}_bucket{`) && l.includes(' # {'));
}
