import { commandLine, cores, pinned, script, Worker } from './child.js';
import { profileArgs, type BenchConfig, type SuiteResult } from './report.js';
import { median } from './stats.js';

const NAMES = ['recordRequest', 'observeRequestDuration', 'recordCallSuccess', 'observeRequestDurationNative'] as const;
const PROM_EQUIVALENT: Record<(typeof NAMES)[number], string> = {
  recordRequest: 'counter.inc({service,instance,strategy})',
  observeRequestDuration: 'histogram.observe({service,instance}, v)',
  recordCallSuccess: 'counter.inc({service,operation,status}) + histogram.observe({service,operation}, v)',
  observeRequestDurationNative: 'histogram.observe({service,instance}, v) (classic only: prom-client has no native histograms)',
};
/** The subject of a row; the native row names what it adds. */
const SUBJECT: Partial<Record<(typeof NAMES)[number], string>> = {
  observeRequestDurationNative: 'observeRequestDuration with nativeHistograms (schema 3, classic buckets kept)',
};
/** Context-only rows: the native histogram's cost is shown, not held to the classic target. */
const NO_TARGET = new Set<string>(['observeRequestDurationNative']);

/** Record path: each kit call vs prom-client's labelled equivalent, ns per call; target <= 0.5x. */
export async function recordPath(config: BenchConfig): Promise<SuiteResult> {
  const file = script('./workers/record-path.js');
  const worker = await Worker.start(file, [], cores().measured, profileArgs(config, 'record-path'));
  const [cmd, args] = pinned(cores().measured, process.execPath, [file]);
  try {
    const ns = await worker.request<Record<string, number[]>>('measure', {
      rounds: config.rounds,
      timeMs: config.quick ? 150 : 600,
    });
    const rows = NAMES.map((name) => {
      const kit = median(ns[`kit:${name}`] ?? []);
      const prom = median(ns[`prom:${name}`] ?? []);
      return {
        suite: 'Record path',
        subject: `${SUBJECT[name] ?? name} vs prom-client ${PROM_EQUIVALENT[name]}`,
        metric: 'ns per call',
        baseline: prom,
        candidate: kit,
        ratio: kit / prom,
        target: NO_TARGET.has(name) ? '' : '<= 0.5x',
        met: NO_TARGET.has(name) ? undefined : kit / prom <= 0.5,
        rounds: { prom: ns[`prom:${name}`] ?? [], kit: ns[`kit:${name}`] ?? [] },
      };
    });
    return {
      rows,
      commands: [`${commandLine(cmd, args)}   # tinybench, ${config.rounds} rounds, batches of 1,000 calls per sample`],
      notes: [],
    };
  } finally {
    await worker.stop();
  }
}
