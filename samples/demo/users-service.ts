import Router from '@koa/router';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { koaMeshMetrics, serveMetrics } from 'mesh-metrics';
import { close, listen } from './listen.js';

/** How an instance behaves: `flaky` answers 503 about 30% of the time and has a slow tail. */
export type Behaviour = 'healthy' | 'flaky' | 'outage';

export interface UsersInstance {
  readonly behaviour: Behaviour;
  readonly url: string;
  readonly metricsUrl: string;
  /** Whether the API port is currently accepting connections. */
  readonly up: boolean;
  /** Stops the API port (connections are refused, as when a process dies); /metrics keeps serving. */
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  stop(): Promise<void>;
}

const NAMES = ['Ada', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

/** Latency of one answer; the flaky instance is slower and has a tail past the gateway's timeout. */
function delayMs(behaviour: Behaviour): number {
  if (behaviour !== 'flaky') return between(2, 12);
  return Math.random() < 0.1 ? between(150, 600) : between(10, 40);
}

function usersApp(behaviour: Behaviour, registry: Registry): Koa {
  const app = new Koa();
  app.silent = true; // the 503s are the point of the flaky instance, not news for the terminal
  app.use(koaMeshMetrics({ service: 'users', registry }));
  const router = new Router();
  router.get('/users/:id', async (ctx) => {
    await sleep(delayMs(behaviour));
    if (behaviour === 'flaky' && Math.random() < 0.3) ctx.throw(503, 'overloaded');
    const id = Number(ctx.params.id);
    if (!Number.isInteger(id) || id < 1) ctx.throw(404, 'no such user');
    ctx.body = { id, name: NAMES[id % NAMES.length] };
  });
  router.get('/orders', async (ctx) => {
    await sleep(delayMs(behaviour) * 2);
    if (behaviour === 'flaky' && Math.random() < 0.3) ctx.throw(503, 'overloaded');
    ctx.body = [1, 2, 3].map((n) => ({ id: n, user: 1 + Math.floor(Math.random() * 100), total: n * 10 }));
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** Starts one users instance: its API on `port`, its /metrics on `metricsPort` (0 picks free ports). */
export async function startUsersInstance(
  behaviour: Behaviour,
  host: string,
  port: number,
  metricsPort: number,
  flags = { port: '--users-ports', metrics: '--metrics-ports' },
): Promise<UsersInstance> {
  const registry = new Registry();
  const app = usersApp(behaviour, registry);
  const server: Server = createServer(app.callback());
  const apiPort = await listen(server, port, host, `users instance (${behaviour})`, flags.port);
  const metrics = serveMetrics({ port: metricsPort, host, registry });
  let address;
  try {
    address = await metrics.listening;
  } catch (error) {
    await close(server);
    const busy = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw busy
      ? new Error(`port ${metricsPort} on ${host} is already in use (users /metrics); free it or choose another with ${flags.metrics}`)
      : error;
  }
  let up = true;
  return {
    behaviour,
    url: `http://${host}:${apiPort}`,
    metricsUrl: address.url,
    get up() {
      return up;
    },
    async goDown() {
      if (!up) return;
      up = false;
      await close(server);
    },
    async comeBack() {
      if (up) return;
      await listen(server, apiPort, host, `users instance (${behaviour})`, flags.port);
      up = true;
    },
    async stop() {
      up = false;
      await close(server);
      await metrics.close();
    },
  };
}
