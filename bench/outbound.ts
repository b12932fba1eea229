import { commandLine, cores, pinned, script, Worker } from './child.js';
import { profileArgs, type BenchConfig, type Row, type SuiteResult } from './report.js';
import { median, rotate } from './stats.js';

interface LoadReply {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly cpuUs: number;
}

const VARIANTS = [
  { name: 'bare', label: 'bare axios' },
  { name: 'balancer', label: 'instrumentAxios + createBalancer (round_robin)', throughput: 0.95 },
  { name: 'policy', label: 'instrumentAxios + balancer + meshPolicy (retry, breaker, timeout)' },
] as const;

const CONCURRENCY = 32;

function rows(samples: Map<string, LoadReply[]>): Row[] {
  const rate = (s: LoadReply) => s.calls / s.seconds;
  const cpu = (s: LoadReply) => s.cpuUs / Math.max(1, s.calls);
  const base = samples.get('bare') ?? [];
  const out: Row[] = [];
  for (const v of VARIANTS.slice(1)) {
    const list = samples.get(v.name) ?? [];
    const target = 'throughput' in v ? v.throughput : undefined;
    for (const [metric, f] of [['calls/s', rate], ['client CPU µs/call', cpu]] as const) {
      const baseline = median(base.map(f));
      const candidate = median(list.map(f));
      const isRate = metric === 'calls/s';
      out.push({
        suite: 'Outbound axios', subject: `${v.label} vs bare axios`, metric, baseline, candidate,
        ratio: candidate / baseline, target: isRate && target !== undefined ? `>= ${target}x` : '',
        met: isRate && target !== undefined ? candidate / baseline >= target : undefined,
        rounds: { bare: base.map(f), [v.name]: list.map(f) },
      });
    }
  }
  return out;
}

/**
 * The client is the measured process (pinned to the measured core); the upstream's two instances run on the
 * other core. Each round drives every variant for `durationS` with 32 concurrent call loops.
 */
export async function outbound(config: BenchConfig): Promise<SuiteResult> {
  const c = cores();
  const upstreamFile = script('./workers/upstream.js');
  const clientFile = script('./workers/axios-client.js');
  const upstream = await Worker.start(upstreamFile, [], c.load);
  const clients = new Map<string, Worker>();
  const samples = new Map<string, LoadReply[]>();
  const commands = [`${commandLine(...pinned(c.load, process.execPath, [upstreamFile]))}   # upstream: two instances`];
  try {
    const urls = (upstream.info.ports as number[]).map((p) => `http://127.0.0.1:${p}`).join(',');
    for (const v of VARIANTS) {
      clients.set(v.name, await Worker.start(clientFile, [v.name, urls], c.measured, profileArgs(config, `outbound-${v.name}`)));
      commands.push(`${commandLine(...pinned(c.measured, process.execPath, [clientFile, v.name, urls]))}   # ${v.label}, ${CONCURRENCY} concurrent calls`);
    }
    const run = (name: string, seconds: number) =>
      (clients.get(name) as Worker).request<LoadReply>('load', { concurrency: CONCURRENCY, durationMs: seconds * 1000 });
    for (const v of VARIANTS) await run(v.name, config.quick ? 1 : 2);
    for (let r = 0; r < config.rounds; r++) {
      for (const v of rotate(VARIANTS, r)) samples.set(v.name, [...(samples.get(v.name) ?? []), await run(v.name, config.durationS)]);
    }
  } finally {
    await Promise.all([...clients.values(), upstream].map((w) => w.stop()));
  }
  const errors = [...samples.values()].flat().reduce((n, s) => n + s.errors, 0);
  return { rows: rows(samples), commands, notes: errors > 0 ? [`${errors} calls failed during the runs.`] : [] };
}
