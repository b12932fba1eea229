import type { MetricsRegistry as Registry } from './metrics-registry.js';
import { clientOfRegistry, defaultMetricsClient } from './client.js';
import { describeValue } from './options.js';

/** The Prometheus text format's content type, the same in both clients. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** Options of {@link pushMetrics}. */
export interface PushMetricsOptions {
  /** The Pushgateway's base URL, `http://host:9091` (a path prefix and basic-auth credentials are allowed). */
  readonly url: string;
  /** The `job` label the gateway puts on every pushed series. */
  readonly job: string;
  /**
   * More grouping labels (such as `shard`), part of the group's URL; each name matches `[a-zA-Z_][a-zA-Z0-9_]*` and
   * is not `job`, each value is a non-empty string without `/`. A name that a pushed series also carries as a label
   * (`instance` once a balancer recorded attempts) makes the push reject before sending.
   * @defaultValue none
   */
  readonly groupings?: Readonly<Record<string, string>>;
  /**
   * The registry to push, in the Prometheus text format (the Pushgateway does not take OpenMetrics).
   * @defaultValue the default client's global `register` (see the README's "Requirements")
   */
  readonly registry?: Registry;
  /**
   * `true` replaces every metric of the group (HTTP `PUT`); `false` replaces only the metrics of the same names
   * (HTTP `POST`).
   * @defaultValue `true`
   */
  readonly replace?: boolean;
  /**
   * Give up when the gateway has not answered for this many milliseconds.
   * @defaultValue 10000
   */
  readonly timeoutMs?: number;
}

const ERROR_MARKER = Symbol.for('mesh-metrics.push-error');
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The rejection of {@link pushMetrics} when the gateway is unreachable, stalls or refuses the push. */
export class PushMetricsError extends Error {
  readonly [ERROR_MARKER] = true;
  override readonly name = 'PushMetricsError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Whether `e` is a {@link PushMetricsError}, from this copy of the package or another. */
export function isPushMetricsError(e: unknown): e is PushMetricsError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[ERROR_MARKER] === true;
}

interface CheckedPush {
  readonly url: string;
  /** The URL without credentials, for messages. */
  readonly shown: string;
  readonly job: string;
  readonly groupings: Record<string, string> | undefined;
  readonly registry: Registry;
  readonly replace: boolean;
  readonly timeoutMs: number;
}

function checkUrl(url: unknown): URL {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TypeError(`url must be an http(s) URL of a Pushgateway, got ${describeValue(url)}`);
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new TypeError('url must not carry a query or a fragment');
  }
  return parsed;
}

function checkGroupValue(what: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('/')) {
    throw new TypeError(`${what} must be a non-empty string without "/", got ${describeValue(value)}`);
  }
  return value;
}

function checkGroupings(groupings: unknown): Record<string, string> | undefined {
  if (groupings === undefined) return undefined;
  if (typeof groupings !== 'object' || groupings === null || Array.isArray(groupings)) {
    throw new TypeError(`groupings must be an object of label names to values, got ${describeValue(groupings)}`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(groupings)) {
    if (!LABEL_NAME.test(name) || name === 'job') {
      throw new TypeError(`groupings: ${JSON.stringify(name)} is not a usable label name`);
    }
    out[name] = checkGroupValue(`groupings.${name}`, value);
  }
  return out;
}

function checkOptions(options: PushMetricsOptions): CheckedPush {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`pushMetrics options must be an object, got ${describeValue(options)}`);
  }
  const parsed = checkUrl(options.url);
  const registry = options.registry ?? defaultMetricsClient().module.register;
  if (typeof registry?.metrics !== 'function') {
    throw new TypeError(`registry must be a prom-client or @prometheus-io/client Registry, got ${describeValue(options.registry)}`);
  }
  if (registry.contentType !== PROMETHEUS_TEXT) {
    throw new TypeError('registry must use the Prometheus text format: the Pushgateway does not accept OpenMetrics');
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new TypeError(`timeoutMs must be a positive integer, got ${describeValue(timeoutMs)}`);
  }
  if (options.replace !== undefined && typeof options.replace !== 'boolean') {
    throw new TypeError(`replace must be a boolean, got ${describeValue(options.replace)}`);
  }
  const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  return {
    url: options.url,
    shown,
    job: checkGroupValue('job', options.job),
    groupings: checkGroupings(options.groupings),
    registry,
    replace: options.replace ?? true,
    timeoutMs,
  };
}

function reason(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/** What `getMetricsAsJSON()` gives for one metric, in both clients (the part read here). */
interface PushedMetric {
  readonly name: string;
  readonly values: readonly { readonly labels?: Readonly<Record<string, unknown>> }[];
}

/**
 * The first pushed series that carries a grouping label (`job` or one of `groupings`), as `[label, family]`. The
 * gateway would overwrite that label with the group's value: the balancer's `instance` (the upstream called) would
 * read `batch-1`, and two upstreams would collide into one series, which the gateway refuses with a 400.
 */
async function groupingCollision(o: CheckedPush): Promise<[string, string] | undefined> {
  const grouping = new Set(['job', ...Object.keys(o.groupings ?? {})]);
  const metrics = (await o.registry.getMetricsAsJSON()) as readonly PushedMetric[];
  for (const metric of metrics) {
    for (const value of metric.values) {
      for (const label of Object.keys(value.labels ?? {})) if (grouping.has(label)) return [label, metric.name];
    }
  }
  return undefined;
}

/**
 * Pushes a registry to a Prometheus Pushgateway, for batch jobs that end before any scrape could reach them. The
 * group is `job` plus `groupings`. Resolves once the gateway accepted the push. Rejects with a `TypeError` for bad
 * options, and with a {@link PushMetricsError} naming the gateway when it is unreachable, stalls past `timeoutMs`,
 * or refuses the push; it never throws past the promise. A push where a pushed series carries a grouping label of
 * its own (the balancer families' `instance` with `groupings: { instance }`) is refused before anything is sent,
 * with a {@link PushMetricsError} naming the label and the family: the gateway would overwrite the series' value.
 */
export async function pushMetrics(options: PushMetricsOptions): Promise<void> {
  const o = checkOptions(options);
  const failed = (error: unknown): PushMetricsError =>
    new PushMetricsError(`mesh-metrics: push to the Pushgateway at ${o.shown} failed: ${reason(error)}`, { cause: error });
  let collision: [string, string] | undefined;
  try {
    collision = await groupingCollision(o);
  } catch (error) {
    throw failed(error); // a collector that throws
  }
  if (collision !== undefined) {
    const [label, family] = collision;
    throw new PushMetricsError(
      `mesh-metrics: push to the Pushgateway at ${o.shown} refused before sending: the grouping label ` +
        `${JSON.stringify(label)} is also a label of ${family}, and the gateway would overwrite it with the ` +
        `group's value; group by a label name no pushed series uses (such as "shard")`,
    );
  }
  // The Pushgateway class of the registry's own client (a look-alike registry goes through the default client's).
  const client = clientOfRegistry(o.registry) ?? defaultMetricsClient();
  const gateway = new client.module.Pushgateway(o.url, { timeout: o.timeoutMs }, o.registry as never);
  const params = o.groupings === undefined ? { jobName: o.job } : { jobName: o.job, groupings: o.groupings };
  try {
    await (o.replace ? gateway.push(params) : gateway.pushAdd(params));
  } catch (error) {
    throw failed(error);
  }
}
