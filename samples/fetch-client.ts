// The global fetch calling the `users` service through meshDispatcher: a balancer over its instances, retries with a
// retry budget from meshPolicy, and every call and attempt measured into the same families as the axios client.
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { createBalancer, meshDispatcher, meshPolicy } from 'mesh-metrics';
import { startUsersInstance } from './axios-client.js';

/** Makes `calls` calls with fetch through a balanced, retried dispatcher to `instances`; returns the /metrics text. */
export async function fetchClientSample(instances: string[], calls = 10, registry = new Registry()): Promise<string> {
  const balancer = createBalancer({ service: 'users', instances, strategy: 'p2c_ewma', registry });
  const policy = meshPolicy({
    service: 'users',
    retry: { retries: 2, initialDelayMs: 10 },
    retryBudget: { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 },
    timeoutMs: 1_000,
    registry,
  });
  const dispatcher = meshDispatcher({ service: 'users', balancer, policy, registry, operation: 'get_user' });

  for (let id = 1; id <= calls; id++) {
    const res = await fetch(`http://users/users/${id}`, { dispatcher }); // the origin http://users: the balancer picks
    await res.json();
  }
  const text = await registry.metrics();
  await dispatcher.close();
  policy.dispose(); // takes its budget out of mesh_retry_budget_remaining
  balancer.dispose();
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = await startUsersInstance();
  const b = await startUsersInstance();
  process.stdout.write(await fetchClientSample([a.url, b.url]));
  a.server.close();
  b.server.close();
}
