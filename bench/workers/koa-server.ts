/**
 * A Koa 3 app with @koa/router and one route, `GET /users/:id`, in one of five variants (argv[2]): `bare`, `noop`
 * (one `app.use()` layer that only calls `next()`), `mesh` (`koaMeshMetrics()`, every family on), `mesh-today` (the
 * first-byte and body size families off) or `instrument` (`instrumentKoa(app)`).
 */
import Router from '@koa/router';
import Koa from 'koa';
import promClient from 'prom-client';
import { instrumentKoa, koaMeshMetrics } from '../../index.js';
import { cpuHandlers, serveRequests } from '../child.js';
import { listen } from './http.js';

const variant = process.argv[2] ?? 'bare';
const registry = new promClient.Registry();
const app = new Koa();
const router = new Router();

if (variant === 'mesh') app.use(koaMeshMetrics({ registry, service: 'bench' }) as Koa.Middleware);
else if (variant === 'instrument') instrumentKoa(app, { registry, service: 'bench' });
else if (variant === 'noop') app.use((_ctx, next) => next());
else if (variant === 'mesh-today') {
  // Both optional families off: the duration and in-flight families only, as before the first byte and body sizes.
  app.use(koaMeshMetrics({ registry, service: 'bench', families: { firstByte: false, bodySizes: false } }) as Koa.Middleware);
} else if (variant !== 'bare') throw new Error(`unknown variant ${variant}`);

router.get('/users/:id', (ctx) => {
  ctx.body = `user ${ctx.params.id}`;
});
app.use(router.routes());

const port = await listen(app.callback());
serveRequests({ port, variant }, { ...cpuHandlers(), metrics: () => registry.metrics() });
