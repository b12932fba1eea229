/**
 * Client instructions per call, counted by valgrind's callgrind: the outbound suites' CPU cost without their noise
 * (see `instructions.ts` for the method). The upstream runs natively; each variant's client (the fetch/undici suite's
 * worker) runs under callgrind, makes its warm-up calls, then windows of calls between two `callgrind_control --dump`;
 * a window's instructions / its calls is one sample. The clients of the wall-clock suite are CPU-bound (client CPU per
 * call × calls per second is about one second per second), so the calls/s target of 0.95x is a cost of at most
 * 1 / 0.95 = 1.053x per call; that is the target applied here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, script, Worker } from './child.js';
import { dump, haveCallgrind, valgrindArgs } from './instructions.js';
import type { BenchConfig, Row, SuiteResult } from './report.js';
import { median } from './stats.js';

const SUITE = 'Outbound instructions';
const CONCURRENCY = 32;
const TARGET = 1.053;

interface Sizes {
  readonly warmup: number;
  readonly window: number;
  readonly windows: number;
}

// Undici's `request` only: a fetch call counts 500,000 to 750,000 instructions under callgrind, most of it the fetch
// layer and its collections, and its windows moved by more than the kit's whole share (mesh below bare in two runs).
const PAIRS = [
  {
    base: { name: 'request', label: 'bare undici request (Agent)' },
    candidate: { name: 'request-mesh', label: 'undici request + meshDispatcher + createBalancer (round_robin)' },
    sizes: { warmup: 30_000, window: 10_000, windows: 7 },
  },
] as const;

const QUICK: Sizes = { warmup: 300, window: 300, windows: 1 };

/** Instructions per call of one client variant, one sample per window. */
async function countClient(variant: string, urls: string, sizes: Sizes): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-cg-'));
  const file = script('./workers/fetch-client.js');
  const proc = spawn('valgrind', valgrindArgs(dir, file, [variant, urls]), { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  try {
    const client = await Worker.attach(proc, `${variant} under valgrind`);
    const run = async (n: number): Promise<number> => {
      const r = await client.request<{ calls: number; errors: number; firstError?: string }>('calls', { n, concurrency: CONCURRENCY });
      if (r.errors > 0) throw new Error(`${variant}: ${r.errors} calls failed, the first with ${r.firstError}`);
      return r.calls;
    };
    await run(sizes.warmup);
    const seen = new Set<string>();
    dump(proc, dir, seen);
    const perCall: number[] = [];
    for (let w = 0; w < sizes.windows; w++) {
      const n = await run(sizes.window);
      perCall.push(dump(proc, dir, seen) / n);
    }
    return perCall;
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bare undici `request` against the same through `meshDispatcher`, the two at a time. */
export async function outboundInstructions(config: BenchConfig): Promise<SuiteResult> {
  if (!haveCallgrind()) {
    return { rows: [], commands: [], notes: ['valgrind (with callgrind_control) is not installed: no instruction counts.'] };
  }
  const upstreamFile = script('./workers/upstream.js');
  const upstream = await Worker.start(upstreamFile, [], undefined);
  const rows: Row[] = [];
  const commands = [`${commandLine(process.execPath, [upstreamFile])}   # upstream: two instances, natively`];
  try {
    const urls = (upstream.info.ports as number[]).map((p) => `http://127.0.0.1:${p}`).join(',');
    for (const pair of PAIRS) {
      const sizes = config.quick ? QUICK : pair.sizes;
      const [base, candidate] = await Promise.all([countClient(pair.base.name, urls, sizes), countClient(pair.candidate.name, urls, sizes)]);
      const ratio = median(candidate) / median(base);
      rows.push({
        suite: SUITE,
        subject: `${pair.candidate.label} vs ${pair.base.label}`,
        metric: 'client instructions/call (callgrind)',
        baseline: median(base),
        candidate: median(candidate),
        ratio,
        target: `<= ${TARGET}x`,
        met: ratio <= TARGET,
        rounds: { [pair.base.name]: base, [pair.candidate.name]: candidate },
      });
      commands.push(
        `${commandLine('valgrind', valgrindArgs('<dir>', script('./workers/fetch-client.js'), [pair.candidate.name, '<urls>']))}   # and ${pair.base.name}, at the same time`,
        `# ${sizes.warmup} warm-up calls, then ${sizes.windows} windows of ${sizes.window} calls (${CONCURRENCY} in flight), each between two \`callgrind_control --dump <pid>\``,
      );
    }
  } finally {
    await upstream.stop();
  }
  return { rows, commands, notes: [] };
}
