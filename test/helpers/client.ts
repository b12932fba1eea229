/**
 * The registry client the suite runs against, chosen by `MESH_METRICS_CLIENT` (the kit's own variable for its
 * default client): `prom-client` (the default) or `@prometheus-io/client`. Test files import the client from here
 * instead of from a package, so the whole suite runs once per client (`.ci/run` does both). The choice is written
 * back to the environment, so the kit's default register and every child process (README blocks, samples, cluster
 * workers) use the same client.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

/** The two clients the kit supports. */
export const CLIENTS = ['prom-client', '@prometheus-io/client'] as const;

/** The package name of the client under test. */
export const CLIENT_NAME: (typeof CLIENTS)[number] = (() => {
  const chosen = process.env.MESH_METRICS_CLIENT || 'prom-client';
  if (chosen !== 'prom-client' && chosen !== '@prometheus-io/client') {
    throw new Error(`MESH_METRICS_CLIENT must be one of ${CLIENTS.join(', ')}, got ${JSON.stringify(chosen)}`);
  }
  process.env.MESH_METRICS_CLIENT = chosen;
  return chosen;
})();

/** The client's module; both publish the same API (prom-client's types describe it). */
const client = require(CLIENT_NAME) as typeof PromClient;
export default client;

export const { Registry, Counter, Gauge, Histogram, Summary, Pushgateway, register, AggregatorRegistry } = client;
export type AggregatorRegistry<T extends PromClient.RegistryContentType = PromClient.PrometheusContentType> =
  PromClient.AggregatorRegistry<T>;
export type Registry<T extends PromClient.RegistryContentType = PromClient.PrometheusContentType> = PromClient.Registry<T>;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type Summary<T extends string = string> = PromClient.Summary<T>;
export type {
  OpenMetricsContentType,
  PrometheusContentType,
  RegistryContentType,
} from 'prom-client';
