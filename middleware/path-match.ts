/**
 * A path as Express and `@koa/router` route it by default: case-insensitive, one trailing slash ignored
 * (`/METRICS/` is routed like `/metrics`).
 */
export function routedPath(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.toLowerCase();
}

/**
 * Whether a request path is one of `paths`, compared the way the frameworks route ({@link routedPath}), so an
 * `exclude` entry and the route it keeps out agree. The length check keeps most requests off the slow path.
 */
export function routedPathMatcher(paths: readonly string[]): (path: string) => boolean {
  const wanted = new Set(paths.map(routedPath));
  const exact = new Set(paths);
  const lengths = new Set<number>();
  for (const p of wanted) lengths.add(p.length).add(p.length + 1);
  return (path) => exact.has(path) || (lengths.has(path.length) && wanted.has(routedPath(path)));
}
