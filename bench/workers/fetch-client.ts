/**
 * The undici/fetch outbound benchmark's measured process, in one of four variants (argv[2]): `fetch` (the global
 * fetch with a plain undici `Agent` as its dispatcher), `fetch-mesh` (the global fetch through `meshDispatcher` with a
 * round-robin balancer), `request` (undici's `request` with a plain `Agent`) and `request-mesh` (undici's `request`
 * through `meshDispatcher`), calling the upstream's two instances (argv[3], comma-separated URLs). Bodies are read in
 * full. `load` runs `concurrency` call loops for `durationMs`; `calls` makes exactly `n` calls, `concurrency` at a time.
 */
import promClient from 'prom-client';
import * as undici from 'undici';
import { Agent, request, type Dispatcher } from 'undici';
import { createBalancer, meshDispatcher } from '../../index.js';
import { serveRequests } from '../child.js';
import { cpuMicros } from '../stats.js';

const variant = process.argv[2] ?? 'fetch';
const urls = (process.argv[3] ?? '').split(',');
const registry = new promClient.Registry();

function client(): (i: number) => Promise<unknown> {
  const mesh = variant.endsWith('-mesh');
  const dispatcher: Dispatcher = mesh
    ? meshDispatcher({
        undici,
        service: 'users',
        registry,
        operation: 'get_user',
        balancer: createBalancer({ service: 'users', instances: urls, strategy: 'round_robin', registry }),
      })
    : new Agent();
  // the balanced service's origin, or the instances in turn, as the bare client would address them
  const url = (i: number): string => (mesh ? 'http://users/users/1' : `${urls[i & 1] as string}/users/1`);
  if (variant.startsWith('fetch')) {
    return async (i) => {
      const r = await fetch(url(i), { dispatcher } as unknown as RequestInit);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`status ${r.status}`);
    };
  }
  if (variant.startsWith('request')) {
    return async (i) => {
      const r = await request(url(i), { dispatcher });
      await r.body.arrayBuffer();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    };
  }
  throw new Error(`unknown variant ${variant}`);
}

const call = client();
/** The calls made so far: the bare clients alternate instances by it. */
let i = 0;

/** `concurrency` call loops, each calling while `more()` says so: the calls that succeeded and failed, the first failure. */
async function drive(concurrency: number, more: () => boolean): Promise<{ calls: number; errors: number; firstError?: string }> {
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async (): Promise<void> => {
    while (more()) {
      try {
        await call(i++);
        calls++;
      } catch (error) {
        errors++;
        firstError ??= `${String(error)} (${String((error as { cause?: unknown }).cause)})`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return firstError === undefined ? { calls, errors } : { calls, errors, firstError };
}

async function load(m: Record<string, unknown>): Promise<{ calls: number; errors: number; seconds: number; cpuUs: number }> {
  const until = performance.now() + Number(m.durationMs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { calls, errors } = await drive(Number(m.concurrency), () => performance.now() < until);
  const seconds = (performance.now() - t0) / 1000;
  return { calls, errors, seconds, cpuUs: cpuMicros(cpu0, process.cpuUsage()) };
}

/** Exactly `n` calls, `concurrency` at a time (the instruction-count suite's windows). */
function calls(m: Record<string, unknown>): Promise<{ calls: number; errors: number; firstError?: string }> {
  let left = Number(m.n);
  return drive(Number(m.concurrency), () => left-- > 0);
}

serveRequests({ variant }, { load, calls, metrics: () => registry.metrics() });
