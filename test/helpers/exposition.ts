import { execFileSync, spawnSync } from 'node:child_process';
import type { Registry } from './client.js';

/** The registry's text exposition. */
export async function exposition(registry: Registry): Promise<string> {
  return registry.metrics();
}

/**
 * The value of one sample, named as it appears in the exposition (`name{a="1",b="2"}`, labels in the exposition's
 * order), or `undefined` when the text has no such line.
 */
export function sampleIn(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1).split(' ')[0]);
  }
  return undefined;
}

/** {@link sampleIn} over the registry's current exposition. */
export async function sample(registry: Registry, series: string): Promise<number | undefined> {
  return sampleIn(await registry.metrics(), series);
}

/** Every sample line of one metric name (exact name, not its `_bucket`/`_sum`/`_count` children unless named). */
export function samplesOf(text: string, metricName: string): string[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#') && (l.startsWith(metricName + '{') || l.startsWith(metricName + ' ')));
}

/** Whether Debian's promtool is on this machine. */
export function havePromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs `promtool check metrics` on an exposition and returns its complaints about families starting with `prefix`
 * (others, such as prom-client's default metrics, are not ours to fix). Empty means clean.
 */
export function promtoolProblems(text: string, prefix = 'mesh_'): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  const out = `${r.stdout}\n${r.stderr}`;
  if (/error while linting|text format parsing error/i.test(out)) return [out.trim()];
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix));
}

/** Runs a command and returns its standard output; throws with its output when it fails. */
export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}
