/**
 * `npm run bench`: every suite in turn, then BENCHMARKS.md and bench/results.json.
 * Options: --quick (short runs, to check the harness), --only=record,scrape,express,koa,outbound,fetch,instructions,
 * outbound-instructions,
 * --rounds=N (default 7), --duration=S seconds per load run (default 3), --out=FILE (default BENCHMARKS.md),
 * --profile (measured processes run with `node --cpu-prof` into bench/profiles/; summarise them with
 * `node bench/.build/bench/profile-summary.js`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { cores, haveTaskset } from './child.js';
import { haveWrk } from './load.js';
import { benchCommand, markdown, type BenchConfig, type Machine, type Report, type Rerun, type Row, type SuiteResult } from './report.js';
import { NOTES } from './notes.js';
import { recordPath } from './record-path.js';
import { scrape } from './scrape.js';
import { inboundExpress } from './inbound-express.js';
import { inboundKoa } from './inbound-koa.js';
import { outbound } from './outbound.js';
import { outboundFetch } from './outbound-fetch.js';
import { instructions } from './instructions.js';
import { outboundInstructions } from './outbound-instructions.js';

const SUITES: Record<string, { title: string; run: (c: BenchConfig) => Promise<SuiteResult> }> = {
  record: { title: 'Record path', run: recordPath },
  scrape: { title: 'Scrape', run: scrape },
  express: { title: 'Inbound Express', run: inboundExpress },
  koa: { title: 'Inbound Koa', run: inboundKoa },
  outbound: { title: 'Outbound axios', run: outbound },
  fetch: { title: 'Outbound fetch/undici', run: outboundFetch },
  instructions: { title: 'Inbound instructions', run: instructions },
  'outbound-instructions': { title: 'Outbound instructions', run: outboundInstructions },
};

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function cpuModel(): string {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    const m = /^Model name:\s*(.+)$/m.exec(out);
    if (m?.[1] !== undefined) return m[1].trim();
  } catch {
    // fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** Total and stolen CPU ticks of all cores so far (the first line of /proc/stat), or undefined off Linux. */
function cpuTicks(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined;
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] as number };
  } catch {
    return undefined;
  }
}

function stealPercent(start: ReturnType<typeof cpuTicks>): number | undefined {
  const end = cpuTicks();
  if (start === undefined || end === undefined || end.total <= start.total) return undefined;
  return (100 * (end.steal - start.steal)) / (end.total - start.total);
}

function machine(loadAtStart: number, ticksAtStart: ReturnType<typeof cpuTicks>): Machine {
  const c = cores();
  const wrk = haveWrk() ? spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.split(' Copyright')[0] : undefined;
  return {
    nproc: c.nproc,
    cpuModel: cpuModel(),
    node: process.version,
    os: `${type()} ${release()}`,
    loadGenerator: wrk ?? 'autocannon (wrk not installed)',
    pinning:
      c.measured === undefined
        ? `none (${haveTaskset() ? 'one core' : 'taskset not available'})`
        : `measured process on core ${c.measured}, load generator on core ${c.load} (taskset)`,
    loadAverage: [loadAtStart, loadavg()[0] as number],
    stealPercent: stealPercent(ticksAtStart),
  };
}

/** Keeps the orchestrator (HTTP scrapes, IPC) off the measured core. */
function pinSelf(): void {
  const core = cores().load; // decides the cores while this process still sees all of them
  if (core !== undefined) spawnSync('taskset', ['-a', '-pc', String(core), String(process.pid)], { stdio: 'ignore' });
}

/**
 * The report with each suite's static notes as `bench/notes.ts` has them now, followed by the notes its run measured
 * (a report read back from bench/results.json holds the static notes of when it was measured).
 */
function withCurrentNotes(report: Report): Report {
  const notes: Record<string, string[]> = {};
  for (const suite of new Set(report.rows.map((r) => r.suite))) {
    const measured = (report.notes[suite] ?? []).filter((n) => !(NOTES[suite] ?? []).includes(n) && !isOldNote(n));
    notes[suite] = [...(NOTES[suite] ?? []), ...measured];
  }
  return { ...report, notes };
}

/** `--render-only`: rewrites BENCHMARKS.md from bench/results.json (after editing notes or the layout). */
function renderOnly(): void {
  const report = JSON.parse(readFileSync('bench/results.json', 'utf8')) as Report;
  writeFileSync(arg('out') ?? 'BENCHMARKS.md', markdown(withCurrentNotes(report)));
}

/**
 * `--only=… --keep`: the previous report (`json`) with the suites just measured replaced (rows, notes, their
 * commands), in the suites' order, and the new run recorded under `reruns`; the machine and the run's date stay.
 */
function kept(json: string, fresh: Report, titles: readonly string[]): Report {
  const previous = JSON.parse(readFileSync(json, 'utf8')) as Report;
  const order = Object.values(SUITES).map((s) => s.title);
  const rows = [...previous.rows.filter((r) => !titles.includes(r.suite)), ...fresh.rows].sort(
    (a, b) => order.indexOf(a.suite) - order.indexOf(b.suite),
  );
  const notes = { ...previous.notes };
  for (const t of titles) notes[t] = fresh.notes[t] ?? [];
  const rerun = { suites: titles, date: fresh.date, args: fresh.args ?? [], wallSeconds: fresh.wallSeconds };
  // an earlier rerun of only these suites has no row left in the report: it and its commands go
  const superseded = (r: Rerun): boolean => r.suites.every((t) => titles.includes(t));
  const gone = new Set((previous.reruns ?? []).filter(superseded).map((r) => `# measured again: ${benchCommand(r.args)}`));
  const commands = [
    ...withoutBlocks(previous.commands, gone),
    `# measured again: ${benchCommand(fresh.args)}`,
    ...fresh.commands.slice(2),
  ];
  return { ...previous, rows, notes, commands, reruns: [...(previous.reruns ?? []).filter((r) => !superseded(r)), rerun] };
}

/** The commands without the blocks (a `# measured again: …` line and the lines up to the next one) headed by `heads`. */
function withoutBlocks(commands: readonly string[], heads: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let dropping = false;
  for (const line of commands) {
    if (line.startsWith('# measured again: ')) dropping = heads.has(line);
    if (!dropping) out.push(line);
  }
  return out;
}

/** Notes the suites themselves add are short measured facts; the static ones are long paragraphs. */
function isOldNote(note: string): boolean {
  return note.length > 200;
}

async function main(): Promise<void> {
  if (process.argv.includes('--render-only')) {
    renderOnly();
    return;
  }
  const started = performance.now();
  const loadAtStart = loadavg()[0] as number;
  const ticksAtStart = cpuTicks();
  const args = process.argv.slice(2);
  pinSelf();
  const quick = process.argv.includes('--quick');
  if (quick && process.argv.includes('--keep')) throw new Error('--keep merges measured rows into the report; a --quick run is a harness check only');
  const config: BenchConfig = {
    rounds: Number(arg('rounds') ?? 7),
    durationS: Number(arg('duration') ?? (quick ? 1 : 3)),
    connections: Number(arg('connections') ?? 64),
    quick,
    profileDir: process.argv.includes('--profile') ? 'bench/profiles' : undefined,
  };
  const only = arg('only')?.split(',') ?? Object.keys(SUITES);
  const rows: Row[] = [];
  const notes: Record<string, string[]> = {};
  const commands = [
    `${benchCommand(args)}   # npm run bench = ${process.env.npm_lifecycle_script ?? 'tsc -p bench/tsconfig.json && node bench/.build/bench/run.js'}`,
    '# which runs, per suite (taskset pins each process to one core):',
  ];
  for (const key of only) {
    const suite = SUITES[key];
    if (suite === undefined) throw new Error(`unknown suite ${key}; have ${Object.keys(SUITES).join(', ')}`);
    const t0 = performance.now();
    process.stderr.write(`bench: ${suite.title} ...\n`);
    const result = await suite.run(config);
    rows.push(...result.rows);
    notes[suite.title] = [...(NOTES[suite.title] ?? []), ...result.notes];
    commands.push(...result.commands);
    process.stderr.write(`bench: ${suite.title} done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const out = arg('out') ?? 'BENCHMARKS.md';
  const json = out === 'BENCHMARKS.md' ? 'bench/results.json' : `${out.replace(/\.md$/, '')}.json`;
  const fresh: Report = {
    date: new Date().toISOString(),
    machine: machine(loadAtStart, ticksAtStart),
    config,
    args,
    commands,
    rows,
    notes,
    wallSeconds: (performance.now() - started) / 1000,
  };
  const report = process.argv.includes('--keep')
    ? withCurrentNotes(kept(json, fresh, only.map((k) => (SUITES[k] as { title: string }).title)))
    : fresh;
  writeFileSync(out, markdown(report));
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${out} and ${json} in ${Math.round(report.wallSeconds)} s\n`);
  for (const r of rows) {
    if (r.met !== undefined) process.stderr.write(`  ${r.met ? 'met   ' : 'MISSED'} ${r.suite}: ${r.subject} (${r.metric}) ${r.ratio.toFixed(3)}x, target ${r.target}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
