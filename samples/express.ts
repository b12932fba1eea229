// Express (4 or 5): measure every request by route template, and serve /metrics.
import express from 'express';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { Registry } from 'prom-client';
import { meshMetrics, metricsHandler } from 'mesh-metrics';

/** The app; `registry` defaults to prom-client's global one, shared with the application's own metrics. */
export function createApp(registry?: Registry): express.Express {
  const app = express();
  app.use(meshMetrics({ service: 'checkout', registry })); // first, so it sees every request
  app.get('/metrics', metricsHandler({ registry }));

  const orders = express.Router();
  orders.get('/:orderId', (req, res) => {
    res.json({ id: req.params.orderId, status: 'shipped' });
  });
  app.use('/api/orders', orders); // recorded as route="/api/orders/:orderId"
  return app;
}

export function start(port: number, registry?: Registry): Promise<Server> {
  return new Promise((resolve) => {
    const server = createApp(registry).listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await start(Number(process.env.PORT ?? 3000));
  console.log('listening on', server.address(), '- try /api/orders/42 then /metrics');
}
