export interface BenchConfig {
  /** Interleaved rounds per comparison; medians are taken over them. */
  readonly rounds: number;
  /** Seconds per load-generator run. */
  readonly durationS: number;
  /** Concurrent connections of the load generator. */
  readonly connections: number;
  /** Shorter runs, for checking the harness (numbers not for publication). */
  readonly quick: boolean;
  /** With `--profile`: where the measured processes write their `node --cpu-prof` profiles. */
  readonly profileDir: string | undefined;
}

/** Node options for a measured process: `--cpu-prof` into `<profileDir>/<name>` when profiling. */
export function profileArgs(config: BenchConfig, name: string): string[] {
  return config.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${config.profileDir}/${name}`];
}

/** One compared figure: a candidate's median against a baseline's, over interleaved rounds. */
export interface Row {
  readonly suite: string;
  /** What is compared, e.g. "meshMetrics() vs bare Express". */
  readonly subject: string;
  /** Unit of baseline and candidate, e.g. "requests/s". */
  readonly metric: string;
  readonly baseline: number;
  readonly candidate: number;
  /** candidate / baseline. */
  readonly ratio: number;
  /** e.g. ">= 0.97x"; empty for a figure shown for context only. */
  readonly target: string;
  /** undefined for a context-only figure. */
  readonly met: boolean | undefined;
  /** Raw per-round values, baseline's first, then the candidate's (rounds are paired by index). */
  readonly rounds?: Readonly<Record<string, readonly number[]>>;
}

/** What one suite hands back to the orchestrator. */
export interface SuiteResult {
  readonly rows: readonly Row[];
  /** The exact command lines it ran (load generator, pinned processes). */
  readonly commands: readonly string[];
  /** Measured facts worth a sentence under the table (sizes, errors seen, ...). */
  readonly notes: readonly string[];
}

/** The machine the numbers come from. */
export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly os: string;
  readonly loadGenerator: string;
  readonly pinning: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine skews the numbers). */
  readonly loadAverage: readonly [start: number, end: number];
  /**
   * Share of all CPU time over the run that the hypervisor gave to other guests (`steal` of /proc/stat), in percent;
   * undefined where /proc/stat is not there. Stolen time slows whichever variant runs when it happens.
   */
  readonly stealPercent?: number;
}

export interface Report {
  readonly date: string;
  readonly machine: Machine;
  readonly config: BenchConfig;
  /** The arguments the run was given (after `npm run bench --`). */
  readonly args?: readonly string[];
  readonly commands: readonly string[];
  readonly rows: readonly Row[];
  /** Free text per suite: how it was measured, profiles and reasons for a missed target. */
  readonly notes: Readonly<Record<string, readonly string[]>>;
  readonly wallSeconds: number;
  /** Suites measured again later (`--keep`): their rows, notes and commands replace the run's. */
  readonly reruns?: readonly Rerun[];
}

/** One `--only=… --keep` run merged into the report. */
export interface Rerun {
  readonly suites: readonly string[];
  readonly date: string;
  readonly args: readonly string[];
  readonly wallSeconds: number;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function verdict(row: Row): string {
  if (row.met === undefined) return 'context';
  return row.met ? '**met**' : '**missed**';
}

/** The lowest and highest ratio of one round's candidate to the same round's baseline. */
function spread(r: Row): string {
  const [base, cand] = Object.values(r.rounds ?? {});
  if (base === undefined || cand === undefined || base.length !== cand.length || base.length === 0) return '';
  const ratios = cand.map((c, i) => c / (base[i] as number));
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
}

function table(rows: readonly Row[]): string[] {
  const out = [
    '| Comparison | Unit | Baseline (median) | Candidate (median) | Ratio of medians | Per-round ratios | Target | Result |',
    '|---|---|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.subject} | ${r.metric} | ${fmt(r.baseline)} | ${fmt(r.candidate)} | ${r.ratio.toFixed(3)}x | ${spread(r)} | ${r.target || '—'} | ${verdict(r)} |`,
    );
  }
  return out;
}

/** The command line of a run, as a user would type it again. */
export function benchCommand(args: readonly string[] | undefined): string {
  return args === undefined || args.length === 0 ? 'npm run bench' : `npm run bench -- ${args.join(' ')}`;
}

/** BENCHMARKS.md: summary of targets, one table per suite, the machine and the exact commands. */
export function markdown(report: Report): string {
  const suites = [...new Set(report.rows.map((r) => r.suite))];
  const targets = report.rows.filter((r) => r.met !== undefined);
  const m = report.machine;
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`${benchCommand(report.args)}\` on ${report.date} (whole run: ${Math.round(report.wallSeconds)} s). ` +
      `Medians over ${report.config.rounds} interleaved rounds; ratio = candidate / baseline.` +
      (report.config.quick ? ' **Quick mode: harness check only, not for publication.**' : ''),
    ...(report.reruns ?? []).map(
      (r) =>
        `Measured again afterwards, replacing that run's rows: ${r.suites.join(', ')}, by \`${benchCommand(r.args)}\` on ` +
        `${r.date} (${Math.round(r.wallSeconds)} s).`,
    ),
    '',
    `Targets: ${targets.filter((r) => r.met).length} of ${targets.length} met.`,
    '',
    '| Suite | Comparison | Unit | Ratio of medians | Candidate (median) | Target | Result |',
    '|---|---|---|---:|---:|---|---|',
    ...targets.map(
      (r) => `| ${r.suite} | ${r.subject} | ${r.metric} | ${r.ratio.toFixed(3)}x | ${fmt(r.candidate)} | ${r.target} | ${verdict(r)} |`,
    ),
    '',
    'Reading these numbers: every comparison runs its variants side by side, interleaved, with the order rotated ' +
      'each round; the "Per-round ratios" column shows the lowest and highest ratio of one round\'s candidate to ' +
      'the same round\'s baseline. On this shared 2-vCPU virtual machine that spread is often ±5 % or more, as ' +
      'large as the inbound and outbound targets themselves, so a target missed by a few percent in one run may be ' +
      'met in the next (and the reverse); the notes under each table say what the profiles show, and the ' +
      '"Inbound instructions" suite counts the inbound variants\' CPU cost in instructions, which that noise does ' +
      'not move. To look closer ' +
      'at one suite: `npm run bench -- --only=express --rounds=15`, and `--profile` for CPU profiles.',
    '',
    '## Machine',
    '',
    `- nproc: ${m.nproc}`,
    `- CPU: ${m.cpuModel}`,
    `- Node: ${m.node}`,
    `- OS: ${m.os}`,
    `- Load generator: ${m.loadGenerator}`,
    `- Pinning: ${m.pinning}`,
    `- Load average (1 min) at start / end of the run: ${m.loadAverage[0].toFixed(2)} / ${m.loadAverage[1].toFixed(2)}` +
      (Math.max(...m.loadAverage) > m.nproc / 2 ? ' — **other work was running on the machine; expect noise**' : ''),
    ...(m.stealPercent === undefined
      ? []
      : [
          `- CPU time stolen by the hypervisor during the run (steal in /proc/stat): ${m.stealPercent.toFixed(1)} %` +
            (m.stealPercent >= 1 ? ' — **the virtual machine shared its cores; expect noise**' : ''),
        ]),
    '',
  ];
  for (const suite of suites) {
    lines.push(`## ${suite}`, '', ...table(report.rows.filter((r) => r.suite === suite)), '');
    for (const note of report.notes[suite] ?? []) lines.push(note, '');
  }
  lines.push('## Commands', '', '```sh', ...report.commands, '```', '');
  return lines.join('\n');
}
