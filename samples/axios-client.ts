// An axios client for the `users` service: a p2c_ewma balancer over its instances, retries and a circuit breaker
// from meshPolicy, and every call and attempt measured.
import axios from 'axios';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { createBalancer, instrumentAxios, meshPolicy } from 'mesh-metrics';

/** Makes `calls` calls through a balanced, retried client to `instances`; returns the /metrics text. */
export async function axiosClientSample(instances: string[], calls = 10, registry = new Registry()): Promise<string> {
  const balancer = createBalancer({ service: 'users', instances, strategy: 'p2c_ewma', registry });
  const policy = meshPolicy({
    service: 'users',
    retry: { retries: 2, initialDelayMs: 10 },
    circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 5_000 },
    timeoutMs: 1_000,
    registry,
  });
  const client = instrumentAxios(axios.create({ timeout: 2_000 }), { service: 'users', balancer, policy, registry });

  for (let id = 1; id <= calls; id++) {
    await client.get(`/users/${id}`, { mesh: { operation: 'get_user' } }); // relative URL: the balancer picks
  }
  policy.dispose();
  balancer.dispose();
  return registry.metrics();
}

/** A tiny users instance on a free port, for running this file on its own. */
export async function startUsersInstance(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: req.url?.split('/').pop(), name: 'Ada' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = await startUsersInstance();
  const b = await startUsersInstance();
  process.stdout.write(await axiosClientSample([a.url, b.url]));
  a.server.close();
  b.server.close();
}
