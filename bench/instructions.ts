/**
 * Server instructions per request, counted by valgrind's callgrind: the CPU-cost figure of the inbound suites without
 * their noise. On a shared virtual machine the throughput and CPU-time ratios of one round move by tens of percent
 * (other guests take the cores), far more than the 2-3 % targets; the number of instructions a server executes for a
 * request does not depend on what else runs. Each variant's server (the same worker scripts as the inbound suites)
 * runs under `valgrind --tool=callgrind`; after a warm-up the orchestrator sends requests in windows, asking callgrind
 * for a dump (`callgrind_control --dump`) before and after each, and a window's instructions / its requests is one
 * sample. Two servers run at a time (counts do not depend on the cores being shared).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, get } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, script } from './child.js';
import { EXPRESS_INBOUND } from './inbound-express.js';
import { KOA_INBOUND } from './inbound-koa.js';
import type { InboundSpec, Variant, VariantPair } from './inbound.js';
import type { BenchConfig, Row, SuiteResult } from './report.js';
import { median } from './stats.js';

const SUITE = 'Inbound instructions';
const CONCURRENCY = 4;

export function haveCallgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0 &&
    spawnSync('callgrind_control', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function valgrindArgs(dir: string, file: string, args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  // --smc-check: V8 writes and runs machine code on the heap, which valgrind must re-translate when it changes.
  return ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'cg')}`, process.execPath, ...nodeFlags, file, ...args];
}

/**
 * Node's flags for the servers: the JIT compiles and the collector works on the main thread, at the same points of
 * each run, instead of on helper threads that valgrind runs in turns with it.
 */
const NODE_FLAGS = ['--single-threaded'];

interface Sizes {
  readonly warmup: number;
  readonly window: number;
  readonly windows: number;
}

/** Sends `n` GET requests, CONCURRENCY at a time, each on a kept-alive connection. */
async function send(port: number, path: string, n: number, agent: Agent): Promise<void> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path} answered ${res.statusCode}`));
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
  let left = n;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left > 0) {
        left--;
        await one();
      }
    }),
  );
}

/** The instructions callgrind counted since the previous dump (each dump starts the counts again). */
export function dump(proc: ChildProcess, dir: string, seen: Set<string>): number {
  execFileSync('callgrind_control', ['--dump', String(proc.pid)], { stdio: 'ignore' });
  const fresh = readdirSync(dir).filter((f) => /^cg\.\d+$/.test(f) && !seen.has(f));
  if (fresh.length !== 1) throw new Error(`expected one new callgrind dump, found ${fresh.length}`);
  const name = fresh[0] as string;
  seen.add(name);
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, name), 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no instruction total in ${name}`);
  return Number(m[1]);
}

/** Median instructions per request of one variant, over `sizes.windows` windows after a warm-up. */
async function countVariant(spec: InboundSpec, v: Variant, sizes: Sizes): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-cg-'));
  const proc = spawn('valgrind', valgrindArgs(dir, script(v.script), v.args, NODE_FLAGS), { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`${v.script} ${v.args.join(' ')} under valgrind exited with ${code}`)));
      proc.on('message', (m: { type?: string; info?: { port?: number } }) => {
        if (m.type === 'ready' && typeof m.info?.port === 'number') resolve(m.info.port);
      });
    });
    await send(port, spec.path, sizes.warmup, agent);
    const seen = new Set<string>();
    dump(proc, dir, seen);
    const perRequest: number[] = [];
    for (let w = 0; w < sizes.windows; w++) {
      await send(port, spec.path, sizes.window, agent);
      perRequest.push(dump(proc, dir, seen) / sizes.window);
    }
    return perRequest;
  } finally {
    agent.destroy();
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One variant against another; `limit`, if any, is the highest ratio that meets the target. */
function row(spec: InboundSpec, counts: Map<string, number[]>, base: Variant, v: Variant, limit: number | undefined): Row {
  const baseline = median(counts.get(base.name) ?? []);
  const candidate = median(counts.get(v.name) ?? []);
  const ratio = candidate / baseline;
  return {
    suite: SUITE,
    subject: `${spec.suite.replace('Inbound ', '')}: ${v.label} vs ${base.label}`,
    metric: 'server instructions/request (callgrind)',
    baseline,
    candidate,
    ratio,
    target: limit === undefined ? '' : `<= ${limit.toFixed(2)}x`,
    met: limit === undefined ? undefined : ratio <= limit,
    rounds: { [base.name]: counts.get(base.name) ?? [], [v.name]: counts.get(v.name) ?? [] },
  };
}

function variantOf(spec: InboundSpec, name: string): Variant {
  const v = spec.variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`${spec.suite} has no variant ${name}`);
  return v;
}

/** Each variant against the baseline, then the spec's pairs. */
function rowsOf(spec: InboundSpec, counts: Map<string, number[]>): Row[] {
  const base = spec.variants[0] as Variant;
  const rows = spec.variants.slice(1).map((v) => row(spec, counts, base, v, v.targets?.cpu));
  const pair = (p: VariantPair) => row(spec, counts, variantOf(spec, p.baseline), variantOf(spec, p.candidate), p.instructions);
  return [...rows, ...(spec.pairs ?? []).map(pair)];
}

/** Express and Koa, every inbound variant, two servers under callgrind at a time. */
export async function instructions(config: BenchConfig): Promise<SuiteResult> {
  if (!haveCallgrind()) {
    return { rows: [], commands: [], notes: ['valgrind (with callgrind_control) is not installed: no instruction counts.'] };
  }
  const sizes: Sizes = config.quick ? { warmup: 300, window: 300, windows: 1 } : { warmup: 20_000, window: 3000, windows: 7 };
  const specs = [EXPRESS_INBOUND, KOA_INBOUND];
  const jobs = specs.flatMap((spec) => spec.variants.map((v) => ({ spec, v })));
  const counts = new Map<InboundSpec, Map<string, number[]>>(specs.map((s) => [s, new Map()]));
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as (typeof jobs)[number];
        counts.get(job.spec)?.set(job.v.name, await countVariant(job.spec, job.v, sizes));
      }
    }),
  );
  const example = EXPRESS_INBOUND.variants[0] as Variant;
  return {
    rows: specs.flatMap((spec) => rowsOf(spec, counts.get(spec) as Map<string, number[]>)),
    commands: [
      `${commandLine('valgrind', valgrindArgs('<dir>', script(example.script), example.args, NODE_FLAGS))}   # per variant (Express and Koa), two at a time`,
      `# ${sizes.warmup} warm-up requests, then ${sizes.windows} windows of ${sizes.window} requests (${CONCURRENCY} kept-alive connections), each between two \`callgrind_control --dump <pid>\``,
    ],
    notes: [],
  };
}
