/**
 * The registry client: prom-client 15 or `@prometheus-io/client` 0.16, both optional peers, loaded on first need.
 * Both publish the same API, which prom-client's types describe.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { describeValue } from './options.js';

/** The package names of the clients the kit supports, newest first. */
export const METRICS_CLIENTS = Object.freeze(['@prometheus-io/client', 'prom-client'] as const);

/** One of {@link METRICS_CLIENTS}. */
export type MetricsClientName = (typeof METRICS_CLIENTS)[number];

/** A loaded client: its package name and its module. */
export interface MetricsClient {
  readonly name: MetricsClientName;
  readonly module: typeof PromClient;
}

const require = createRequire(import.meta.url);

/** Where `name` resolves from the kit, or `undefined` when it is not installed. */
function resolved(name: MetricsClientName): string | undefined {
  try {
    return require.resolve(name);
  } catch {
    return undefined;
  }
}

function load(name: MetricsClientName): MetricsClient {
  return Object.freeze({ name, module: require(name) as typeof PromClient });
}

const NO_CLIENT =
  'mesh-metrics needs a Prometheus registry client, and neither prom-client nor @prometheus-io/client is ' +
  'installed: run `npm install prom-client` (^15, Node 20 and later) or `npm install @prometheus-io/client` ' +
  '(^0.16, Node 22 and later)';

let chosen: MetricsClient | undefined;

/** The environment variable that names the default client outright. */
export const CLIENT_ENV = 'MESH_METRICS_CLIENT';

/** The client `MESH_METRICS_CLIENT` names, or `undefined` when it is unset or empty. */
function namedByEnvironment(): MetricsClient | undefined {
  const named = process.env[CLIENT_ENV];
  if (named === undefined || named === '') return undefined;
  if (named !== 'prom-client' && named !== '@prometheus-io/client') {
    throw new Error(`${CLIENT_ENV} must be prom-client or @prometheus-io/client, got ${JSON.stringify(named)}`);
  }
  if (resolved(named) === undefined) {
    throw new Error(`${CLIENT_ENV} names ${named}, which is not installed: run \`npm install ${named}\``);
  }
  return load(named);
}

/**
 * The client whose global `register` the kit uses when no `registry` is passed, chosen once per process at the
 * first need: the one `MESH_METRICS_CLIENT` names; else the only one installed; with both installed, the one the
 * application has already loaded; with both installed and both (or neither) loaded, `@prometheus-io/client`, with
 * a one-time process warning (`MESH_METRICS_TWO_CLIENTS`) that names the choice. Throws an `Error` naming both
 * packages when neither is installed, and one naming the variable when it names something else or a client that
 * is not installed.
 */
export function defaultMetricsClient(): MetricsClient {
  if (chosen !== undefined) return chosen;
  chosen = namedByEnvironment();
  if (chosen !== undefined) return chosen;
  const next = resolved('@prometheus-io/client');
  const old = resolved('prom-client');
  if (next === undefined && old === undefined) throw new Error(NO_CLIENT);
  if (next === undefined || old === undefined) {
    chosen = load(next === undefined ? 'prom-client' : '@prometheus-io/client');
    return chosen;
  }
  const nextLoaded = next in require.cache;
  const oldLoaded = old in require.cache;
  if (nextLoaded !== oldLoaded) {
    chosen = load(nextLoaded ? '@prometheus-io/client' : 'prom-client');
    return chosen;
  }
  chosen = load('@prometheus-io/client');
  process.emitWarning(
    `mesh-metrics: both prom-client and @prometheus-io/client are ${nextLoaded ? 'loaded' : 'installed'}; the kit's ` +
      "metrics go to @prometheus-io/client's global register. Pass `registry` or set MESH_METRICS_CLIENT to choose, " +
      'or remove the other package.',
    { code: 'MESH_METRICS_TWO_CLIENTS' },
  );
  return chosen;
}

/** The default client's global registry (see {@link defaultMetricsClient}). */
export function defaultRegistry(): PromClient.Registry {
  return defaultMetricsClient().module.register;
}

/**
 * The client whose `Registry` class made `registry`, among the clients already loaded, or `undefined` when it is
 * no client's registry (a look-alike).
 */
export function clientOfRegistry(registry: unknown): MetricsClient | undefined {
  if (typeof registry !== 'object' || registry === null) return undefined;
  if (chosen !== undefined && registry instanceof chosen.module.Registry) return chosen;
  for (const name of METRICS_CLIENTS) {
    const path = resolved(name);
    if (path === undefined || !(path in require.cache)) continue;
    const client = chosen?.name === name ? chosen : load(name);
    if (registry instanceof client.module.Registry) return client;
  }
  return undefined;
}

/**
 * The registries an option `registry` names (one, or an array of them; the default client's global `register` when
 * `undefined`) and the one client they all belong to. Throws a `TypeError` for a value that is no client's
 * `Registry`, for registries of both clients, and (unless `allowEmpty`) for an empty array.
 */
export function registriesOfOneClient(
  given: unknown,
  allowEmpty: boolean,
): { readonly client: MetricsClient; readonly registries: readonly unknown[] } {
  if (given === undefined) {
    const client = defaultMetricsClient();
    return { client, registries: [client.module.register] };
  }
  const registries: readonly unknown[] = Array.isArray(given) ? given : [given];
  let client: MetricsClient | undefined;
  for (const r of registries) {
    const of = clientOfRegistry(r);
    if (of === undefined) {
      throw new TypeError(
        `registry must be a prom-client or @prometheus-io/client Registry (or an array of them), got ${describeValue(r)}`,
      );
    }
    if (client !== undefined && of.name !== client.name) {
      throw new TypeError(`registry: every registry must come from one client, got ${client.name} and ${of.name}`);
    }
    client = of;
  }
  if (client === undefined && !allowEmpty) throw new TypeError('registry must not be an empty array');
  return { client: client ?? defaultMetricsClient(), registries };
}
