import type { IncomingMessage } from 'node:http';
import type { CounterFamily } from '../lib/counter.js';
import { HttpServerMetrics, RESERVED_LABELS, type HttpServerFamilies } from '../lib/http-server-metrics.js';
import { describeValue, resolveMetricsOptions, type MetricsOptions } from '../lib/options.js';
import { counterFamily } from '../lib/registration.js';
import { exemplarTraceReader, type TraceIdReader } from '../lib/trace-context.js';
import { routedPathMatcher } from './path-match.js';

/** One `exclude` entry: an exact path, a pattern tested on the path, or a predicate on the request. */
export type ExcludeRule = string | RegExp | ((req: IncomingMessage) => boolean);

/**
 * Options of `meshMetrics()` (Express) and `koaMeshMetrics()` (Koa); `S` is what `labels.values` is called with:
 * the request for Express (cast it to Express's `Request` to read your own fields), the context for Koa.
 */
export interface InboundOptions<S = IncomingMessage> extends MetricsOptions {
  /**
   * The `service` label: the name of this service.
   * @defaultValue the `MESH_SERVICE_NAME` environment variable, else `"unknown_service"`
   */
  readonly service?: string;
  /**
   * Requests not to measure: paths (query string ignored; compared as Express and `@koa/router` route by default,
   * case-insensitive and with one trailing slash ignored, so `"/metrics"` also keeps out `GET /METRICS/`), RegExps
   * tested on the path, or predicates on the request (Koa: `ctx.req`). Setting it replaces the default, so list
   * `"/metrics"` again to keep scrapes out.
   * @defaultValue `["/metrics"]`
   */
  readonly exclude?: readonly ExcludeRule[];
  /**
   * Labels of your own on the per-request families: `names` fixed here (Prometheus label names, none of the
   * built-in ones, at most {@link MAX_CUSTOM_LABELS}), `values` called once per request when it ends, with the
   * Express `req` or the Koa `ctx`, returning a value per name. Values go through the label guard and the
   * `maxSeries` cap; a throwing function, or one that returns something else than an object (a Promise), is counted
   * as `kind="internal"` and the request recorded with empty values.
   * @defaultValue none
   */
  readonly labels?: CustomLabels<S>;
  /**
   * Decides, when a request has ended, that it is left out of the per-request families: `true` skips it. Each
   * family it would have gone into counts it in `mesh_metrics_skipped_total{metric}`. A throw counts as
   * `kind="internal"` and the request is recorded.
   * @defaultValue none
   */
  readonly skip?: (request: SkipInfo) => boolean;
  /**
   * Optional families: `{ firstByte: false }` leaves out `…_response_first_byte_seconds`, `{ bodySizes: false }` the
   * body size histograms.
   * @defaultValue both recorded
   */
  readonly families?: HttpServerFamilies;
}

/** What `skip` is told about a request that ended: its `status_code`, `route` and `method` labels. */
export interface SkipInfo {
  readonly status: number;
  readonly route: string;
  readonly method: string;
}

/** The `labels` option: custom label names and the function giving their values. */
export interface CustomLabels<S = IncomingMessage> {
  /** The label names, fixed here: Prometheus names, none of the built-in ones, at most {@link MAX_CUSTOM_LABELS}. */
  readonly names: readonly string[];
  /** Express: the request; Koa: the context. Called when the request ends. */
  readonly values: (source: S) => Readonly<Record<string, unknown>>;
}

/** The most custom labels one middleware may add. */
export const MAX_CUSTOM_LABELS = 4;

/** The default `service` label when neither the option nor `MESH_SERVICE_NAME` gives one. */
export const DEFAULT_SERVICE = 'unknown_service';

/** The default `exclude`: the scrape path. */
export const DEFAULT_EXCLUDE: readonly ExcludeRule[] = Object.freeze(['/metrics']);

/** Decides once per request whether it is left out; `null` when nothing is excluded. */
export type ExcludeTest = (req: IncomingMessage, url: string) => boolean;

/** Everything the inbound middleware chose at construction. */
export interface InboundSetup {
  readonly metrics: HttpServerMetrics;
  readonly service: string;
  readonly excluded: ExcludeTest | null;
  /** Reads a request's trace id for exemplars; only for an OpenMetrics registry (chosen once, here). */
  readonly traceOf: TraceIdReader | undefined;
  readonly customLabels: { readonly names: readonly string[]; readonly values: (source: unknown) => unknown } | undefined;
  readonly skip: ((request: SkipInfo) => unknown) | undefined;
  /** `mesh_metrics_skipped_total{metric}`, registered only with `skip`. */
  readonly skipped: CounterFamily<'metric'> | undefined;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function resolveCustomLabels(value: unknown): InboundSetup['customLabels'] {
  if (value === undefined) return undefined;
  const v = value as Partial<CustomLabels> | null;
  if (typeof v !== 'object' || v === null) throw new TypeError(`labels must be { names, values }, got ${describeValue(value)}`);
  if (!Array.isArray(v.names) || v.names.length === 0 || v.names.length > MAX_CUSTOM_LABELS) {
    throw new TypeError(`labels.names must be an array of 1 to ${MAX_CUSTOM_LABELS} label names, got ${describeValue(v.names)}`);
  }
  const seen = new Set<string>();
  v.names.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new TypeError(`labels.names[${i}] must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __), got ${describeValue(name)}`);
    }
    if (RESERVED_LABELS.includes(name)) throw new TypeError(`labels.names[${i}] is a built-in label: ${describeValue(name)}`);
    if (seen.has(name)) throw new TypeError(`labels.names[${i}] repeats ${describeValue(name)}`);
    seen.add(name);
  });
  if (typeof v.values !== 'function') throw new TypeError(`labels.values must be a function, got ${describeValue(v.values)}`);
  return { names: Object.freeze([...(v.names as string[])]), values: v.values as (source: unknown) => unknown };
}

function checkFamilies(value: unknown): HttpServerFamilies {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new TypeError(`families must be an object, got ${describeValue(value)}`);
  for (const [key, on] of Object.entries(value)) {
    if (key !== 'firstByte' && key !== 'bodySizes') throw new TypeError(`families.${key} is not an optional family (firstByte, bodySizes)`);
    if (typeof on !== 'boolean') throw new TypeError(`families.${key} must be a boolean, got ${describeValue(on)}`);
  }
  return value as HttpServerFamilies;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function checkRule(rule: unknown, i: number): ExcludeRule {
  if (typeof rule === 'string' && rule.length > 0) return rule;
  if (rule instanceof RegExp) return rule.global || rule.sticky ? new RegExp(rule.source, rule.flags.replace(/[gy]/g, '')) : rule;
  if (typeof rule === 'function') return rule as ExcludeRule;
  throw new TypeError(
    `exclude[${i}] must be a non-empty path, a RegExp or a predicate function, got ${describeValue(rule)}`,
  );
}

function buildExclude(rules: readonly ExcludeRule[], onFault: () => void): ExcludeTest | null {
  if (rules.length === 0) return null;
  const isPath = routedPathMatcher(rules.filter((r): r is string => typeof r === 'string'));
  const patterns = rules.filter((r): r is RegExp => r instanceof RegExp);
  const predicates = rules.filter((r): r is (req: IncomingMessage) => boolean => typeof r === 'function');
  if (patterns.length === 0 && predicates.length === 0) return (_req, url) => isPath(pathOf(url));
  return (req, url) => {
    const path = pathOf(url);
    if (isPath(path)) return true;
    for (const p of patterns) if (p.test(path)) return true;
    for (const f of predicates) {
      try {
        if (f(req) === true) return true;
      } catch {
        onFault();
      }
    }
    return false;
  };
}

function resolveService(value: unknown): string {
  if (value === undefined) {
    const env = process.env['MESH_SERVICE_NAME'];
    return env !== undefined && env !== '' ? env : DEFAULT_SERVICE;
  }
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`service must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** Validates the inbound options (a `TypeError` names the bad value) and makes every choice the hot path needs. */
export function resolveInboundOptions<S>(options: InboundOptions<S> = {}): InboundSetup {
  const resolved = resolveMetricsOptions(options);
  const service = resolveService(options.service);
  const rules: unknown = options.exclude ?? DEFAULT_EXCLUDE;
  if (!Array.isArray(rules)) throw new TypeError(`exclude must be an array, got ${describeValue(rules)}`);
  const checked = rules.map(checkRule);
  const customLabels = resolveCustomLabels(options.labels);
  const skip: unknown = options.skip;
  if (skip !== undefined && typeof skip !== 'function') throw new TypeError(`skip must be a function, got ${describeValue(skip)}`);
  const families = checkFamilies(options.families);
  const metrics = new HttpServerMetrics(resolved, customLabels?.names ?? [], families);
  return {
    metrics,
    service,
    excluded: buildExclude(checked, () => metrics.faults.internal()),
    traceOf: exemplarTraceReader(resolved.registry),
    customLabels,
    skip: skip as InboundSetup['skip'],
    skipped:
      skip === undefined
        ? undefined
        : counterFamily(resolved, metrics.faults, {
            name: 'metrics_skipped_total',
            help: 'Requests the skip option left out of a family, by family.',
            labelNames: ['metric'],
          }),
  };
}
