// meshPolicy around any async function: retries with backoff, a circuit breaker and a timeout, all measured.
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { meshPolicy } from 'mesh-metrics';

/** Runs five calls through the policy against a function that fails every third attempt; returns /metrics text. */
export async function policySample(registry = new Registry()): Promise<string> {
  const policy = meshPolicy({
    service: 'inventory',
    operation: 'reserve',
    retry: { retries: 2, initialDelayMs: 10, maxDelayMs: 100 },
    circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
    timeoutMs: 1_000,
    registry,
  });

  let attempts = 0;
  const reserve = async ({ signal }: { signal: AbortSignal }): Promise<string> => {
    attempts += 1;
    if (signal.aborted) throw new Error('aborted');
    if (attempts % 3 === 1) throw new Error('inventory is busy'); // attempts 1, 4, 7 fail
    return 'reserved';
  };

  for (let i = 0; i < 5; i++) await policy.execute(reserve);
  policy.dispose();
  return registry.metrics();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(await policySample());
}
