import type { InstanceRecord } from './balancer-instance.js';

/** How a balancer chooses among the instances that are not ejected. */
export type BalancerStrategy = 'round_robin' | 'random' | 'least_connections' | 'p2c_ewma';

export const BALANCER_STRATEGIES: readonly BalancerStrategy[] = Object.freeze([
  'round_robin',
  'random',
  'least_connections',
  'p2c_ewma',
]);

/** What a strategy may read besides the candidates; `cursor` is its own rotating position. */
export interface PickContext {
  cursor: number;
  readonly random: () => number;
  readonly now: () => number;
}

/** Chooses one of `candidates` (never empty). */
export type PickFunction = (candidates: readonly InstanceRecord[], ctx: PickContext) => InstanceRecord;

/** Cost a p2c pick puts on an instance with attempts in flight but no latency yet, so it is not flooded. */
const UNKNOWN_LATENCY_PENALTY = 1e9;

function index(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= 0 && i < n ? i : 0;
}

const roundRobin: PickFunction = (candidates, ctx) => {
  const i = ctx.cursor % candidates.length;
  ctx.cursor = i + 1;
  return candidates[i]!;
};

const random: PickFunction = (candidates, ctx) => candidates[index(ctx.random, candidates.length)]!;

/** Fewest attempts in flight; ties go round-robin, so an idle set of instances is spread evenly. */
const leastConnections: PickFunction = (candidates, ctx) => {
  const n = candidates.length;
  const start = ctx.cursor % n;
  let best = candidates[start]!;
  let bestAt = start;
  for (let k = 1; k < n; k++) {
    const i = (start + k) % n;
    const c = candidates[i]!;
    if (c.inFlight < best.inFlight) {
      best = c;
      bestAt = i;
    }
  }
  ctx.cursor = bestAt + 1;
  return best;
};

/** Peak-EWMA latency × (in-flight + 1), the load estimate Finagle and Linkerd balance on. */
export function p2cCost(instance: InstanceRecord, now: number): number {
  const latency = instance.latency.read(now);
  if (latency === 0) return instance.inFlight === 0 ? 0 : UNKNOWN_LATENCY_PENALTY + instance.inFlight;
  return latency * (instance.inFlight + 1);
}

/** Power of two choices: two distinct instances at random, the one with the lower cost wins. */
const p2cEwma: PickFunction = (candidates, ctx) => {
  const n = candidates.length;
  if (n === 1) return candidates[0]!;
  const i = index(ctx.random, n);
  let j = index(ctx.random, n - 1);
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  const now = ctx.now();
  return p2cCost(b, now) < p2cCost(a, now) ? b : a;
};

export const STRATEGIES: Readonly<Record<BalancerStrategy, PickFunction>> = Object.freeze({
  round_robin: roundRobin,
  random,
  least_connections: leastConnections,
  p2c_ewma: p2cEwma,
});
