import type { IncomingMessage } from 'node:http';
import { HttpServerMetrics } from '../lib/http-server-metrics.js';
import { describeValue, resolveMetricsOptions, type MetricsOptions } from '../lib/options.js';
import { exemplarTraceReader, type TraceIdReader } from '../lib/trace-context.js';
import { routedPathMatcher } from './path-match.js';

/** One `exclude` entry: an exact path, a pattern tested on the path, or a predicate on the request. */
export type ExcludeRule = string | RegExp | ((req: IncomingMessage) => boolean);

/** Options of `meshMetrics()` (Express) and `koaMeshMetrics()` (Koa). */
export interface InboundOptions extends MetricsOptions {
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
}

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
export function resolveInboundOptions(options: InboundOptions = {}): InboundSetup {
  const resolved = resolveMetricsOptions(options);
  const service = resolveService(options.service);
  const rules: unknown = options.exclude ?? DEFAULT_EXCLUDE;
  if (!Array.isArray(rules)) throw new TypeError(`exclude must be an array, got ${describeValue(rules)}`);
  const checked = rules.map(checkRule);
  const metrics = new HttpServerMetrics(resolved);
  return {
    metrics,
    service,
    excluded: buildExclude(checked, () => metrics.faults.internal()),
    traceOf: exemplarTraceReader(resolved.registry),
  };
}
