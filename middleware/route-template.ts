import type { IncomingMessage } from 'node:http';
import { UNMATCHED_ROUTE } from '../lib/http-server-metrics.js';
import { isLearned, knownPattern, learnPattern, matchLayer, patternText, trimSlash, type LayerLike } from './layer-pattern.js';

/**
 * Express route templates. `req.baseUrl` holds the concrete values of every mount path (`/api/users/42`), so the
 * template is rebuilt from the router tree: the chain of router layers that leads from the application's root router
 * to the matched `req.route`, each contributing its mount pattern (see `layer-pattern.ts`), then `req.route.path`.
 * Templates are cached per route, so a request costs one WeakMap lookup once its route has been seen.
 */

interface RouteLike {
  readonly path?: unknown;
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

const MAX_DEPTH = 32;
const routeTemplates = new WeakMap<object, string>();

function isRouter(value: unknown): value is RouterLike {
  return (typeof value === 'function' || typeof value === 'object') && value !== null &&
    Array.isArray((value as { stack?: unknown }).stack);
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

/** Walks one chain over the request's path; the mount patterns, or `undefined` when the chain does not apply. */
function walk(chain: readonly LayerLike[], path: string): string[] | undefined {
  const parts: string[] = [];
  let rest = path;
  for (const layer of chain) {
    const m = matchLayer(layer, rest);
    if (m === undefined) return undefined;
    const t = knownPattern(layer) ?? learnPattern(layer, rest, m);
    if (t === undefined) return undefined;
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
    const parts = (chains[0] as LayerLike[]).map(knownPattern);
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
      if (chains.length === 1 && chain.every(isLearned)) routeTemplates.set(route, t);
      return t;
    }
  }
  // A mount pattern that cannot be told: the route's own path, kept so the search is not repeated.
  const fallback = join(prefix, tail);
  if (chains.length === 1) routeTemplates.set(route, fallback);
  return fallback;
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
