/**
 * The outbound benchmark's measured process: an axios client in one of three variants (argv[2]) — `bare`,
 * `balancer` (`instrumentAxios` with a round-robin balancer) or `policy` (the same plus `meshPolicy`) — calling the
 * upstream's two instances (argv[3], comma-separated URLs). `load` runs `concurrency` call loops for `durationMs`.
 */
import axios, { type AxiosInstance } from 'axios';
import promClient from 'prom-client';
import { createBalancer, instrumentAxios, meshPolicy } from '../../index.js';
import { serveRequests } from '../child.js';
import { cpuMicros } from '../stats.js';

const variant = process.argv[2] ?? 'bare';
const urls = (process.argv[3] ?? '').split(',');
const registry = new promClient.Registry();

function client(): { call: (i: number) => Promise<unknown>; instance: AxiosInstance } {
  if (variant === 'bare') {
    const instance = axios.create();
    return { instance, call: (i) => instance.get(`${urls[i & 1] as string}/users/1`) };
  }
  const balancer = createBalancer({ service: 'users', instances: urls, strategy: 'round_robin', registry });
  const policy =
    variant === 'policy'
      ? meshPolicy({
          service: 'users',
          retry: { retries: 2, initialDelayMs: 10, maxDelayMs: 100 },
          circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 1000 },
          timeoutMs: 2000,
          registry,
        })
      : undefined;
  if (variant !== 'balancer' && variant !== 'policy') throw new Error(`unknown variant ${variant}`);
  const instance = instrumentAxios(axios.create(), { service: 'users', balancer, registry, ...(policy ? { policy } : {}) });
  return { instance, call: () => instance.get('/users/1', { mesh: { operation: 'get_user' } }) };
}

const { call } = client();

async function load(m: Record<string, unknown>): Promise<{ calls: number; errors: number; seconds: number; cpuUs: number }> {
  const concurrency = Number(m.concurrency);
  const until = performance.now() + Number(m.durationMs);
  let calls = 0;
  let errors = 0;
  let i = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      try {
        await call(i++);
        calls++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return { calls, errors, seconds, cpuUs: cpuMicros(cpu0, process.cpuUsage()) };
}

serveRequests({ variant }, { load, metrics: () => registry.metrics() });
