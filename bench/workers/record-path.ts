/**
 * Record path, in one pinned process: the kit's record calls against prom-client's own labelled calls doing the
 * same work, with tinybench. Each sample times a batch of calls, so the figures are nanoseconds per call.
 */
import promClient from 'prom-client';
import { Bench } from 'tinybench';
import { LoadBalancerMetrics } from '../../lib/load-balancer-metrics.js';
import { ServiceMeshMetrics } from '../../lib/service-mesh-metrics.js';
import { DEFAULT_BUCKETS } from '../../lib/options.js';
import { rotate } from '../stats.js';
import { serveRequests } from '../child.js';

const BATCH = 1000;
const INSTANCES = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://10.0.0.4:8080'];
const OPERATIONS = ['get_user', 'list_users', 'create_user', 'delete_user'];
const SECONDS = [0.003, 0.02, 0.08, 0.3, 1.2, 6, 0.04, 0.007];

/** One pair: the kit's call and prom-client's equivalent. */
export interface Pair {
  readonly name: string;
  readonly kit: (i: number) => void;
  readonly prom: (i: number) => void;
}

function pairs(): Pair[] {
  const kitRegistry = new promClient.Registry();
  const lb = new LoadBalancerMetrics({ registry: kitRegistry });
  const mesh = new ServiceMeshMetrics({ registry: kitRegistry });
  const nativeLb = new LoadBalancerMetrics({ registry: new promClient.Registry(), nativeHistograms: { schema: 3 } });
  const promRegistry = new promClient.Registry();
  const registers = [promRegistry];
  const requests = new promClient.Counter({
    name: 'lb_requests_total', help: 'h', labelNames: ['service', 'instance', 'strategy'], registers,
  });
  const duration = new promClient.Histogram({
    name: 'lb_request_duration_seconds', help: 'h', labelNames: ['service', 'instance'], buckets: [...DEFAULT_BUCKETS], registers,
  });
  const calls = new promClient.Counter({
    name: 'calls_total', help: 'h', labelNames: ['service', 'operation', 'status', 'error_type'], registers,
  });
  const callDuration = new promClient.Histogram({
    name: 'call_duration_seconds', help: 'h', labelNames: ['service', 'operation'], buckets: [...DEFAULT_BUCKETS], registers,
  });
  return [
    {
      name: 'recordRequest',
      kit: (i) => lb.recordRequest('users', INSTANCES[i & 3] as string, 'round_robin'),
      prom: (i) => requests.inc({ service: 'users', instance: INSTANCES[i & 3] as string, strategy: 'round_robin' }),
    },
    {
      name: 'observeRequestDuration',
      kit: (i) => lb.observeRequestDuration('users', INSTANCES[i & 3] as string, SECONDS[i & 7] as number),
      prom: (i) => duration.observe({ service: 'users', instance: INSTANCES[i & 3] as string }, SECONDS[i & 7] as number),
    },
    {
      name: 'observeRequestDurationNative',
      kit: (i) => nativeLb.observeRequestDuration('users', INSTANCES[i & 3] as string, SECONDS[i & 7] as number),
      prom: (i) => duration.observe({ service: 'users', instance: INSTANCES[i & 3] as string }, SECONDS[i & 7] as number),
    },
    {
      name: 'recordCallSuccess',
      kit: (i) => mesh.recordCallSuccess('users', OPERATIONS[i & 3] as string, SECONDS[i & 7] as number),
      prom: (i) => {
        calls.inc({ service: 'users', operation: OPERATIONS[i & 3] as string, status: 'success' });
        callDuration.observe({ service: 'users', operation: OPERATIONS[i & 3] as string }, SECONDS[i & 7] as number);
      },
    },
  ];
}

function batched(bench: Bench, call: (i: number) => void): () => { overriddenDuration: number; overriddenIterationCost: number } {
  let i = 0;
  return () => {
    const start = bench.now();
    for (let k = 0; k < BATCH; k++) call(i++);
    const elapsed = bench.now() - start;
    return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: elapsed };
  };
}

/** Runs `rounds` rounds (task order rotated each round); returns ns per call, per task, per round. */
async function measure(rounds: number, timeMs: number): Promise<Record<string, number[]>> {
  const all = pairs();
  const tasks = all.flatMap((p) => [
    { name: `kit:${p.name}`, call: p.kit },
    { name: `prom:${p.name}`, call: p.prom },
  ]);
  const out: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    const bench = new Bench({ time: timeMs, warmupTime: timeMs / 4 });
    for (const t of rotate(tasks, r)) bench.add(t.name, batched(bench, t.call));
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as { latency?: { p50: number } };
      if (result.latency === undefined) throw new Error(`${task.name} failed: ${JSON.stringify(task.result)}`);
      (out[task.name] ??= []).push(result.latency.p50 * 1e6);
    }
  }
  return out;
}

serveRequests({}, { measure: (m) => measure(Number(m.rounds), Number(m.timeMs)) });
