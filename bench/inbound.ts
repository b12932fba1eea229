import { commandLine, cores, pinned, script, Worker } from './child.js';
import { load, loadCommand, type LoadResult } from './load.js';
import { profileArgs, type BenchConfig, type Row, type SuiteResult } from './report.js';
import { median, rotate } from './stats.js';

/** One server variant: a worker script run with `args`, e.g. `express-server.js bare`. */
export interface Variant {
  readonly name: string;
  readonly label: string;
  readonly script: string;
  readonly args: readonly string[];
  /** The ratio targets against the baseline, if this variant has any. */
  readonly targets?: { readonly throughput?: number; readonly cpu?: number };
}

interface Sample {
  readonly rps: number;
  readonly cpuPerRequest: number;
  readonly errors: number;
}

export interface InboundSpec {
  readonly suite: string;
  /** The request path wrk sends. */
  readonly path: string;
  /** The first variant is the baseline. */
  readonly variants: readonly Variant[];
  /**
   * Variants the instruction-count suite also compares with each other (besides each with the baseline), with a
   * target for the candidate's instructions per request against the other's.
   */
  readonly pairs?: readonly VariantPair[];
}

/** Two variants of one spec compared directly: `candidate` against `baseline`, by name. */
export interface VariantPair {
  readonly candidate: string;
  readonly baseline: string;
  /** The highest ratio of instructions per request that meets the target. */
  readonly instructions: number;
}

async function measureOnce(worker: Worker, url: string, config: BenchConfig, durationS: number): Promise<Sample> {
  await worker.request('mark');
  const r: LoadResult = await load(url, { durationS, connections: config.connections, core: cores().load });
  const cpuUs = await worker.request<number>('cpu');
  return { rps: r.requestsPerSecond, cpuPerRequest: cpuUs / Math.max(1, r.requests), errors: r.errors };
}

function rowsFor(spec: InboundSpec, samples: Map<string, Sample[]>): Row[] {
  const base = spec.variants[0] as Variant;
  const baseRps = median((samples.get(base.name) ?? []).map((s) => s.rps));
  const baseCpu = median((samples.get(base.name) ?? []).map((s) => s.cpuPerRequest));
  const rows: Row[] = [];
  for (const v of spec.variants.slice(1)) {
    const list = samples.get(v.name) ?? [];
    const rps = median(list.map((s) => s.rps));
    const cpu = median(list.map((s) => s.cpuPerRequest));
    const t = v.targets;
    const rounds = (pick: (s: Sample) => number) => ({
      [base.name]: (samples.get(base.name) ?? []).map(pick),
      [v.name]: list.map(pick),
    });
    rows.push({
      suite: spec.suite, subject: `${v.label} vs ${base.label}`, metric: 'requests/s', baseline: baseRps, candidate: rps,
      ratio: rps / baseRps, target: t?.throughput === undefined ? '' : `>= ${t.throughput}x`,
      met: t?.throughput === undefined ? undefined : rps / baseRps >= t.throughput, rounds: rounds((s) => s.rps),
    });
    rows.push({
      suite: spec.suite, subject: `${v.label} vs ${base.label}`, metric: 'server CPU µs/request', baseline: baseCpu,
      candidate: cpu, ratio: cpu / baseCpu, target: t?.cpu === undefined ? '' : `<= ${t.cpu}x`,
      met: t?.cpu === undefined ? undefined : cpu / baseCpu <= t.cpu, rounds: rounds((s) => s.cpuPerRequest),
    });
  }
  return rows;
}

/**
 * Starts every variant's server pinned to the measured core, warms each up, then runs `rounds` rounds, each
 * driving every variant once with the load generator on the other core, in an order rotated per round.
 */
export async function inbound(spec: InboundSpec, config: BenchConfig): Promise<SuiteResult> {
  const core = cores().measured;
  const workers = new Map<string, Worker>();
  const commands: string[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    for (const v of spec.variants) {
      const file = script(v.script);
      const tag = `${spec.suite.toLowerCase().replace(/\W+/g, '-')}-${v.name}`;
      workers.set(v.name, await Worker.start(file, v.args, core, profileArgs(config, tag)));
      const [cmd, args] = pinned(core, process.execPath, [file, ...v.args]);
      commands.push(`${commandLine(cmd, args)}   # ${v.label}`);
    }
    const url = (v: Variant) => `http://127.0.0.1:${String(workers.get(v.name)?.info.port)}${spec.path}`;
    commands.push(`${loadCommand(url(spec.variants[0] as Variant), { durationS: config.durationS, connections: config.connections, core: cores().load })}   # per variant and round`);
    for (const v of spec.variants) await measureOnce(workers.get(v.name) as Worker, url(v), config, config.quick ? 1 : 2);
    for (let r = 0; r < config.rounds; r++) {
      for (const v of rotate(spec.variants, r)) {
        const s = await measureOnce(workers.get(v.name) as Worker, url(v), config, config.durationS);
        samples.set(v.name, [...(samples.get(v.name) ?? []), s]);
      }
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.stop()));
  }
  const errors = [...samples.values()].flat().reduce((n, s) => n + s.errors, 0);
  const notes = errors > 0 ? [`Load generator saw ${errors} non-2xx responses or socket errors in total.`] : [];
  return { rows: rowsFor(spec, samples), commands, notes };
}
