import axios from 'axios';
import express from 'express';
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import {
  classifyError,
  createBalancer,
  instrumentAxios,
  meshDispatcher,
  meshMetrics,
  meshPolicy,
  metricsHandler,
  type Balancer,
  type InstrumentedPolicy,
  type MeshDispatcher,
  type PolicyLogger,
} from 'mesh-metrics';
import { close, listen } from './listen.js';

export interface Gateway {
  readonly url: string;
  readonly metricsUrl: string;
  readonly balancer: Balancer;
  stop(): Promise<void>;
}

/**
 * The gateway's outbound setup: a p2c_ewma balancer over `users`, retries, a breaker and a per-attempt timeout, shared
 * by two callers: axios for `/api/users/:id`, and the global `fetch` (through `meshDispatcher`) for `/api/orders`.
 */
function usersClient(instances: readonly string[], registry: Registry, logger: PolicyLogger) {
  const balancer = createBalancer({
    service: 'users',
    instances,
    strategy: 'p2c_ewma',
    outlier: { consecutiveFailures: 3, ejectionMs: 4_000, maxEjectedPercent: 67 },
    registry,
  });
  const policy = meshPolicy({
    service: 'users',
    retry: { retries: 2, initialDelayMs: 20, maxDelayMs: 200 },
    retryBudget: { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 },
    circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 2_000 },
    timeoutMs: 250,
    logger,
    registry,
  });
  const client = instrumentAxios(axios.create({ timeout: 1_000 }), { service: 'users', balancer, policy, registry });
  // fetch('http://users/...', { dispatcher }) goes through the same balancer and policy
  const dispatcher = meshDispatcher({ service: 'users', balancer, policy, registry, operation: 'list_orders' });
  return { balancer, policy, client, dispatcher };
}

type UsersClient = ReturnType<typeof usersClient>;

function gatewayApp({ client, dispatcher }: UsersClient, registry: Registry): express.Express {
  const app = express();
  app.use(meshMetrics({ service: 'gateway', registry }));
  app.get('/metrics', metricsHandler({ registry }));
  // Each call gets the request's own signal: a client that goes away cancels the upstream call too.
  const signalOf = (res: express.Response): AbortSignal => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    return controller.signal;
  };
  const failed = (res: express.Response, error: unknown): void => {
    const type = classifyError(error);
    res.status(type === 'circuit_open' ? 503 : 502).json({ error: type });
  };
  app.get('/api/users/:id', async (req, res) => {
    try {
      const user = await client.get(`/users/${encodeURIComponent(req.params.id)}`, {
        mesh: { operation: 'get_user' },
        signal: signalOf(res),
      });
      res.json(user.data);
    } catch (error) {
      failed(res, error);
    }
  });
  app.get('/api/orders', async (_req, res) => {
    try {
      const orders = await fetch('http://users/orders', { dispatcher, signal: signalOf(res) });
      if (!orders.ok) {
        await orders.arrayBuffer();
        return failed(res, orders);
      }
      res.json(await orders.json());
    } catch (error) {
      failed(res, error);
    }
  });
  return app;
}

/** Starts the gateway on `port` (0 picks a free one), calling the users instances at `usersUrls`. */
export async function startGateway(
  host: string,
  port: number,
  usersUrls: readonly string[],
  logger: PolicyLogger,
): Promise<Gateway> {
  const registry = new Registry();
  const users = usersClient(usersUrls, registry, logger);
  const server: Server = createServer(gatewayApp(users, registry));
  let actual: number;
  try {
    actual = await listen(server, port, host, 'gateway', '--gateway-port');
  } catch (error) {
    users.policy.dispose();
    users.balancer.dispose();
    await users.dispatcher.close();
    throw error;
  }
  const policy: InstrumentedPolicy = users.policy;
  const dispatcher: MeshDispatcher = users.dispatcher;
  return {
    url: `http://${host}:${actual}`,
    metricsUrl: `http://${host}:${actual}/metrics`,
    balancer: users.balancer,
    async stop() {
      await close(server);
      await dispatcher.close();
      policy.dispose();
      users.balancer.dispose();
    },
  };
}
