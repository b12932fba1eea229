/**
 * An Express 5 app with one route, `GET /users/:id`, in one of seven variants (argv[2]): `bare`, `noop` (one
 * `app.use()` layer that only calls `next()`: the floor cost of any middleware), `mesh` (`meshMetrics()`, every
 * family on), `mesh-today` (`meshMetrics()` with the first-byte and body size families off: the duration and
 * in-flight families only, as before they existed), `instrument` (`instrumentExpress(app)`), `channel`
 * (`instrumentExpress(server)`), or `bundle` (express-prom-bundle with method, path and status labels).
 */
import express from 'express';
import promBundle from 'express-prom-bundle';
import promClient from 'prom-client';
import type { Server } from 'node:http';
import { instrumentExpress, meshMetrics } from '../../index.js';
import { cpuHandlers, serveRequests } from '../child.js';
import { listen } from './http.js';

const variant = process.argv[2] ?? 'bare';
const registry = new promClient.Registry();
const app = express();

let prepare: ((server: Server) => void) | undefined;
if (variant === 'mesh') {
  app.use(meshMetrics({ registry, service: 'bench' }));
} else if (variant === 'instrument') {
  instrumentExpress(app, { registry, service: 'bench' });
} else if (variant === 'channel') {
  prepare = (server) => void instrumentExpress(server, { registry, service: 'bench' });
} else if (variant === 'mesh-today') {
  // The recorder as it was before the first-byte and body size families: both optional families off.
  app.use(meshMetrics({ registry, service: 'bench', families: { firstByte: false, bodySizes: false } }));
} else if (variant === 'bundle') {
  app.use(
    promBundle({
      includeMethod: true,
      includePath: true,
      includeStatusCode: true,
      includeUp: false,
      autoregister: false,
      promRegistry: registry,
    }),
  );
} else if (variant === 'noop') {
  app.use((_req, _res, next) => next());
} else if (variant !== 'bare') {
  throw new Error(`unknown variant ${variant}`);
}

app.get('/users/:id', (req, res) => {
  res.send(`user ${req.params.id}`);
});

const port = await listen(app, prepare);
serveRequests({ port, variant }, { ...cpuHandlers(), metrics: () => registry.metrics() });
