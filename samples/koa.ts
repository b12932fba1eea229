// Koa (2 or 3) with @koa/router: measure every request by route template, and serve /metrics.
import Router from '@koa/router';
import Koa from 'koa';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { Registry } from 'prom-client';
import { koaMeshMetrics, koaMetricsHandler } from 'mesh-metrics';

/** The app; `registry` defaults to prom-client's global one, shared with the application's own metrics. */
export function createApp(registry?: Registry): Koa {
  const app = new Koa();
  app.use(koaMeshMetrics({ service: 'inventory', registry })); // first, so it sees every request
  app.use(koaMetricsHandler({ registry })); // answers GET /metrics, passes the rest on

  const items = new Router({ prefix: '/api/items' });
  items.get('/:sku', (ctx) => {
    ctx.body = { sku: ctx.params.sku, inStock: 3 };
  });
  app.use(items.routes()); // recorded as route="/api/items/:sku"
  return app;
}

export function start(port: number, registry?: Registry): Promise<Server> {
  return new Promise((resolve) => {
    const server = createApp(registry).listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await start(Number(process.env.PORT ?? 3000));
  console.log('listening on', server.address(), '- try /api/items/abc then /metrics');
}
