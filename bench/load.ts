import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pinned } from './child.js';

/** What one load-generator run measured. */
export interface LoadResult {
  /** Responses completed. */
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Non-2xx responses plus socket errors; a valid run has 0. */
  readonly errors: number;
}

export interface LoadOptions {
  readonly durationS: number;
  readonly connections: number;
  readonly core: number | undefined;
}

let wrkChecked: boolean | undefined;

/** Whether wrk is installed (autocannon is the fallback). */
export function haveWrk(): boolean {
  wrkChecked ??= spawnSync('wrk', ['--version']).error === undefined;
  return wrkChecked;
}

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}${out}`))));
  });
}

function number(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** The command line (for BENCHMARKS.md) of a load run against `url`. */
export function loadCommand(url: string, o: LoadOptions): string {
  const [cmd, args] = haveWrk()
    ? pinned(o.core, 'wrk', ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, url])
    : pinned(o.core, 'autocannon', ['-c', String(o.connections), '-d', String(o.durationS), '-j', url]);
  return [cmd, ...args].join(' ');
}

/** Drives `url` with wrk (one thread) or autocannon, pinned to `o.core`. */
export async function load(url: string, o: LoadOptions): Promise<LoadResult> {
  if (haveWrk()) {
    const [cmd, args] = pinned(o.core, 'wrk', ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, url]);
    const out = await run(cmd, args);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const socketErrors = sock === null ? 0 : sock.slice(1).reduce((s, x) => s + Number(x), 0);
    return {
      requests: number(out, /(\d+) requests in/),
      requestsPerSecond: number(out, /Requests\/sec:\s+([\d.]+)/),
      errors: number(out, /Non-2xx or 3xx responses: (\d+)/) + socketErrors,
    };
  }
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const [cmd, args] = pinned(o.core, process.execPath, [bin, '-c', String(o.connections), '-d', String(o.durationS), '-j', url]);
  const r = JSON.parse(await run(cmd, args)) as {
    requests: { total: number; average: number };
    non2xx: number;
    errors: number;
    duration: number;
  };
  return { requests: r.requests.total, requestsPerSecond: r.requests.total / r.duration, errors: r.non2xx + r.errors };
}
