import { commandLine, cores, pinned, script, Worker } from './child.js';
import { profileArgs, type BenchConfig, type Row, type SuiteResult } from './report.js';
import { median, rotate } from './stats.js';

interface LoadReply {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly cpuUs: number;
}

const SUITE = 'Outbound fetch/undici';
const VARIANTS = [
  { name: 'fetch', label: 'bare fetch (undici Agent)' },
  { name: 'fetch-mesh', label: 'fetch + meshDispatcher + createBalancer (round_robin)', base: 'fetch', throughput: 0.95 },
  { name: 'request', label: 'bare undici request (Agent)' },
  { name: 'request-mesh', label: 'undici request + meshDispatcher + createBalancer (round_robin)', base: 'request', throughput: 0.95 },
] as const;

const CONCURRENCY = 32;

function rows(samples: Map<string, LoadReply[]>): Row[] {
  const rate = (s: LoadReply) => s.calls / s.seconds;
  const cpu = (s: LoadReply) => s.cpuUs / Math.max(1, s.calls);
  const out: Row[] = [];
  for (const v of VARIANTS) {
    if (!('base' in v)) continue;
    const base = samples.get(v.base) ?? [];
    const list = samples.get(v.name) ?? [];
    const baseLabel = VARIANTS.find((x) => x.name === v.base)?.label ?? v.base;
    for (const [metric, f] of [['calls/s', rate], ['client CPU µs/call', cpu]] as const) {
      const baseline = median(base.map(f));
      const candidate = median(list.map(f));
      const isRate = metric === 'calls/s';
      out.push({
        suite: SUITE, subject: `${v.label} vs ${baseLabel}`, metric, baseline, candidate,
        ratio: candidate / baseline, target: isRate ? `>= ${v.throughput}x` : '',
        met: isRate ? candidate / baseline >= v.throughput : undefined,
        rounds: { [v.base]: base.map(f), [v.name]: list.map(f) },
      });
    }
  }
  return out;
}

/**
 * As the axios suite: the client is the measured process (pinned to the measured core), the upstream's two instances
 * run on the other core, and each round drives every variant for `durationS` with 32 concurrent call loops.
 */
export async function outboundFetch(config: BenchConfig): Promise<SuiteResult> {
  const c = cores();
  const upstreamFile = script('./workers/upstream.js');
  const clientFile = script('./workers/fetch-client.js');
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
