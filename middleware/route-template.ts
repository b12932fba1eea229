import type { IncomingMessage } from 'node:http';
import { UNMATCHED_ROUTE } from '../lib/http-server-metrics.js';

/**
 * Express route templates. `req.baseUrl` holds the concrete values of every mount path (`/api/users/42`), so the
 * template is rebuilt from the router tree: the chain of router layers that leads from the application's root router
 * to the matched `req.route`, each contributing its mount pattern, then `req.route.path`. Express 5 (router >= 2.3)
 * keeps each layer's pattern; Express 4 keeps only a RegExp, so there the pattern is recovered once per layer from a
 * concrete match (which segment holds which parameter, probing when two segments carry the same value). Everything
 * is cached per route and per layer, so a request costs one WeakMap lookup once its route has been seen.
 */

interface RouteLike {
  readonly path?: unknown;
}

interface LayerLike {
  readonly handle?: unknown;
  readonly route?: unknown;
  readonly rawPath?: unknown;
  readonly slash?: unknown;
  readonly regexp?: { readonly fast_slash?: unknown };
  readonly params?: Record<string, unknown>;
  readonly path?: unknown;
  match?(path: string): unknown;
}

interface RouterLike {
  readonly stack: readonly LayerLike[];
}

interface AppLike {
  readonly _router?: unknown;
  readonly router?: unknown;
  readonly parent?: unknown;
  readonly mountpath?: unknown;
}

/** The parts of an Express 4 or 5 request the template is built from. */
export interface ExpressRequestLike extends IncomingMessage {
  readonly route?: unknown;
  readonly params?: unknown;
  readonly app?: unknown;
  readonly originalUrl?: string;
}

interface Match {
  readonly path: string;
  readonly params: Record<string, unknown>;
  /** The alternative that matched, from router >= 2.3. */
  readonly pattern?: unknown;
}

const MAX_DEPTH = 32;
/** A segment no real URL carries, used to find which segment a parameter came from. */
const PROBE = 'mesh-metrics-probe-7f3a';

const routeTemplates = new WeakMap<object, string>();
const layerTemplates = new WeakMap<object, string>();

function isRouter(value: unknown): value is RouterLike {
  return (typeof value === 'function' || typeof value === 'object') && value !== null &&
    Array.isArray((value as { stack?: unknown }).stack);
}

function trimSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return end === path.length ? path : path.slice(0, end);
}

/** The text of a pattern as Express was given it: a string, a RegExp, or an array of those. */
function patternText(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  if (Array.isArray(pattern)) return pattern.map(patternText).join(',');
  return String(pattern);
}

function join(prefix: string, tail: string): string {
  if (prefix === '') return tail === '' ? '/' : tail;
  if (tail === '' || tail === '/') return prefix;
  return tail.charCodeAt(0) === 47 ? prefix + tail : `${prefix}/${tail}`;
}

function rootRouter(app: unknown): RouterLike | undefined {
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) return undefined;
  const a = app as AppLike;
  if (isRouter(a._router)) return a._router; // Express 4
  try {
    const r = a.router; // Express 5 (Express 4 throws here)
    return isRouter(r) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The mount pattern of a sub-application (`app.use('/admin', adminApp)`), parents first. */
function appPrefix(app: unknown, depth = 0): string {
  const a = app as AppLike | undefined;
  if (a?.parent === undefined || a.parent === null || depth > MAX_DEPTH) return '';
  return trimSlash(appPrefix(a.parent, depth + 1) + trimSlash(patternText(a.mountpath)));
}

/** Every chain of router layers from `router` down to the router holding `route`. */
function chainsTo(router: RouterLike, route: object): LayerLike[][] {
  const out: LayerLike[][] = [];
  const chain: LayerLike[] = [];
  const open = new Set<RouterLike>();
  const visit = (r: RouterLike): void => {
    if (chain.length > MAX_DEPTH || open.has(r)) return;
    open.add(r);
    for (const layer of r.stack) {
      if (layer.route === route) out.push([...chain]);
      else if (layer.route === undefined && isRouter(layer.handle)) {
        chain.push(layer);
        visit(layer.handle);
        chain.pop();
      }
    }
    open.delete(r);
  };
  visit(router);
  return out;
}

/** The end of an Express 4 mount RegExp: `\/?(?=\/|$)`, `\/?$` or `(?=\/|$)`. */
const EXPRESS4_END = /(?:\\\/\?)?(?:\(\?=\\\/\|\$\)|\$)$/;
/** One plain Express 4 parameter, `(?:\/([^\/]+?))`, optional when followed by `?`. */
const EXPRESS4_PARAM = /\(\?:\\\/\(\[\^\\?\/\]\+\?\)\)(\?)?/g;
const REGEXP_SYNTAX = /[\\()[\]{}*+?|^$]/;

/**
 * Reads an Express 4 layer's pattern back from its RegExp (path-to-regexp 0.1 output) for the plain forms:
 * literal segments and `/:name` or `/:name?` parameters. Anything else gives `undefined`.
 */
function express4Template(layer: LayerLike): string | undefined {
  const re = (layer as { regexp?: unknown }).regexp;
  const keys = (layer as { keys?: unknown }).keys;
  if (!(re instanceof RegExp) || !Array.isArray(keys) || !re.source.startsWith('^')) return undefined;
  let i = 0;
  let ok = true;
  const text = re.source
    .slice(1)
    .replace(EXPRESS4_END, '')
    .replace(EXPRESS4_PARAM, (_m, optional: string | undefined) => {
      const name = (keys[i++] as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string') ok = false;
      return `/:${String(name)}${optional ?? ''}`;
    })
    .replace(/\\([/.-])/g, '$1');
  if (!ok || i !== keys.length || REGEXP_SYNTAX.test(text.replace(/\/:\w+\??/g, ''))) return undefined;
  return trimSlash(text);
}

/** A layer's mount pattern when it can be known without a request (Express 5, plain Express 4), else `undefined`. */
function staticTemplate(layer: LayerLike): string | undefined {
  const known = layerTemplates.get(layer);
  if (known !== undefined) return known;
  let t: string | undefined;
  if (Array.isArray(layer.rawPath)) return undefined; // which alternative matched is known per request
  if (layer.rawPath !== undefined) t = trimSlash(patternText(layer.rawPath));
  else if (layer.slash === true || layer.regexp?.fast_slash === true) t = '';
  else t = express4Template(layer);
  if (t !== undefined) layerTemplates.set(layer, t);
  return t;
}

/** Runs a layer's matcher: Express 4 and router < 2.3 return a boolean and store the result on the layer. */
function matchLayer(layer: LayerLike, path: string): Match | undefined {
  if (typeof layer.match !== 'function') return undefined;
  let r: unknown;
  try {
    r = layer.match(path);
  } catch {
    return undefined;
  }
  if (r === true) return { path: typeof layer.path === 'string' ? layer.path : '', params: layer.params ?? {} };
  if (typeof r === 'object' && r !== null) {
    const m = r as { path?: unknown; params?: Record<string, unknown>; pattern?: unknown };
    return { path: typeof m.path === 'string' ? m.path : '', params: m.params ?? {}, pattern: m.pattern };
  }
  return undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Which segment of the matched path holds parameter `name`; probes the matcher when several could. */
function segmentOf(layer: LayerLike, name: string, value: string, segs: string[], out: string[], rest: string): number {
  const candidates: number[] = [];
  for (let j = 1; j < segs.length; j++) if (out[j] === segs[j] && decode(segs[j] as string) === value) candidates.push(j);
  if (candidates.length <= 1) return candidates[0] ?? -1;
  for (const j of candidates) {
    const probe = [...segs];
    probe[j] = PROBE;
    if (matchLayer(layer, probe.join('/') + rest)?.params[name] === PROBE) return j;
  }
  return -1;
}

/** Recovers a layer's mount pattern from one concrete match; `stable` when every parameter was present. */
function probeTemplate(layer: LayerLike, path: string, m: Match): { template: string; stable: boolean } | undefined {
  const segs = m.path.split('/');
  const out = [...segs];
  const rest = path.slice(m.path.length);
  let stable = true;
  for (const name of Object.keys(m.params)) {
    const value = m.params[name];
    if (value === undefined) {
      stable = false;
      continue;
    }
    if (typeof value !== 'string') return undefined;
    const j = segmentOf(layer, name, value, segs, out, rest);
    if (j >= 0) out[j] = `:${name}`;
    else if (!markPartial(layer, name, value, segs, out, rest)) return undefined;
  }
  return { template: trimSlash(out.filter((seg, i) => seg !== '*' || out[i - 1] !== '*').join('/')), stable };
}

/**
 * A parameter sharing its segment with other text (`/:name.:ext`) or spanning segments: each segment holding part of
 * it, as the matcher confirms when that part is swapped for a probe, becomes `*`.
 */
function markPartial(layer: LayerLike, name: string, value: string, segs: string[], out: string[], rest: string): boolean {
  let marked = false;
  for (const part of value.split('/')) {
    if (part === '') continue;
    for (let j = 1; j < segs.length; j++) {
      const seg = decode(segs[j] as string);
      if ((out[j] !== segs[j] && out[j] !== '*') || !seg.includes(part)) continue;
      const probe = [...segs];
      probe[j] = encodeURIComponent(seg.replace(part, PROBE));
      const got = matchLayer(layer, probe.join('/') + rest)?.params[name];
      if (typeof got === 'string' && got.includes(PROBE)) {
        out[j] = '*';
        marked = true;
        break;
      }
    }
  }
  return marked;
}

/** Walks one chain over the request's path; the mount patterns, or `undefined` when the chain does not apply. */
function walk(chain: readonly LayerLike[], path: string): string[] | undefined {
  const parts: string[] = [];
  let rest = path;
  for (const layer of chain) {
    const m = matchLayer(layer, rest);
    if (m === undefined) return undefined;
    let t = staticTemplate(layer);
    if (t === undefined && typeof m.pattern === 'string') t = trimSlash(m.pattern);
    if (t === undefined) {
      const p = probeTemplate(layer, rest, m);
      if (p === undefined) return undefined;
      t = p.template;
      if (p.stable) layerTemplates.set(layer, t);
    }
    parts.push(t);
    rest = rest.slice(m.path.length);
    if (rest.charCodeAt(0) !== 47) rest = `/${rest}`;
  }
  return parts;
}

function pathname(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function resolve(req: ExpressRequestLike, route: RouteLike & object): string {
  const tail = patternText(route.path);
  const prefix = appPrefix(req.app);
  const root = rootRouter(req.app);
  const chains = root === undefined ? [] : chainsTo(root, route);
  if (chains.length === 0) return join(prefix, tail); // not in this tree (yet): not cached
  if (chains.length === 1) {
    const parts = (chains[0] as LayerLike[]).map(staticTemplate);
    if (parts.every((p) => p !== undefined)) {
      const t = join(prefix + parts.join(''), tail);
      routeTemplates.set(route, t);
      return t;
    }
  }
  const path = prefix === '' ? pathname(req.originalUrl ?? req.url ?? '/') : undefined;
  if (path !== undefined) {
    for (const chain of chains) {
      const parts = walk(chain, path);
      if (parts === undefined) continue;
      const t = join(parts.join(''), tail);
      if (chains.length === 1 && chain.every((l) => layerTemplates.has(l))) routeTemplates.set(route, t);
      return t;
    }
  }
  return join(prefix, tail);
}

/**
 * The `route` label of an Express request: the full route template, `__unmatched__` when no route matched or when
 * the response is the framework's own 404 after a handler passed the request on (`next()` into nothing).
 */
export function expressRouteTemplate(req: ExpressRequestLike, status: number): string {
  const route = req.route;
  if (typeof route !== 'object' || route === null) return UNMATCHED_ROUTE;
  // Express restores req.params to undefined when the app's router is exhausted: the final handler answered.
  if (status === 404 && req.params === undefined) return UNMATCHED_ROUTE;
  return routeTemplates.get(route) ?? resolve(req, route);
}
