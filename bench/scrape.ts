import { commandLine, cores, pinned, script, Worker } from './child.js';
import type { BenchConfig, Row, SuiteResult } from './report.js';
import { median, rotate } from './stats.js';
import type { ScrapeSample } from './workers/scrape.js';

const RENDERERS = {
  prom: "prom-client Histogram, registry.metrics()",
  kitViaRegistry: "kit families, registry.metrics()",
  writer: 'kit families, exposition writer',
} as const;
type Which = keyof typeof RENDERERS;

function row(subject: string, metric: string, base: number[], cand: number[], target: string, met?: (c: number, ratio: number) => boolean): Row {
  const baseline = median(base);
  const candidate = median(cand);
  const ratio = candidate / baseline;
  return {
    suite: 'Scrape', subject, metric, baseline, candidate, ratio, target,
    met: met === undefined ? undefined : met(candidate, ratio), rounds: { baseline: base, candidate: cand },
  };
}

/** 10,000 histogram series: render time, longest event-loop block and sizes, ours against prom-client's. */
export async function scrape(config: BenchConfig): Promise<SuiteResult> {
  const file = script('./workers/scrape.js');
  const nodeArgs = ['--expose-gc'];
  const worker = await Worker.start(file, [], cores().measured, nodeArgs);
  const [cmd, args] = pinned(cores().measured, process.execPath, [...nodeArgs, file]);
  const samples: Record<Which, ScrapeSample[]> = { prom: [], kitViaRegistry: [], writer: [] };
  try {
    for (const which of Object.keys(RENDERERS) as Which[]) await worker.request('render', { which });
    for (let r = 0; r < config.rounds; r++) {
      for (const which of rotate(Object.keys(RENDERERS) as Which[], r)) {
        samples[which].push(await worker.request<ScrapeSample>('render', { which }));
      }
    }
  } finally {
    await worker.stop();
  }
  const pick = (w: Which, f: (s: ScrapeSample) => number) => samples[w].map(f);
  const rows: Row[] = [
    row(`${RENDERERS.writer} vs ${RENDERERS.prom}`, 'render ms', pick('prom', (s) => s.ms), pick('writer', (s) => s.ms), '<= 1x', (_, ratio) => ratio <= 1),
    row(`${RENDERERS.writer} vs ${RENDERERS.prom}`, 'longest event-loop block, ms', pick('prom', (s) => s.blockMs), pick('writer', (s) => s.blockMs), '<= 50 ms', (c) => c <= 50),
    row(`${RENDERERS.kitViaRegistry} vs ${RENDERERS.prom}`, 'render ms', pick('prom', (s) => s.ms), pick('kitViaRegistry', (s) => s.ms), ''),
    row(`${RENDERERS.writer} vs ${RENDERERS.prom}`, 'bytes', pick('prom', (s) => s.bytes), pick('writer', (s) => s.bytes), ''),
    row(`${RENDERERS.writer} vs ${RENDERERS.prom}`, 'bytes gzipped', pick('prom', (s) => s.gzipBytes), pick('writer', (s) => s.gzipBytes), ''),
  ];
  return { rows, commands: [`${commandLine(cmd, args)}   # renders in-process, ${config.rounds} rounds`], notes: [] };
}
