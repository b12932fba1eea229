/**
 * `node bench/.build/bench/profile-summary.js [dir]`: summarises the CPU profiles that `npm run bench -- --profile`
 * wrote (default dir bench/profiles): per profile, the share of self time by package or Node subsystem, the
 * library's own share (lib/, middleware/, interceptors/), and the hottest functions.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface Profile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const LIBRARY = /\/bench\/\.build\/(lib|middleware|interceptors)\//;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith('.cpuprofile') ? [path] : [];
  });
}

function area(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName || '(native)';
  if (url.includes('node_modules/')) return (url.split('node_modules/').pop() ?? url).split('/')[0] ?? url;
  if (LIBRARY.test(url)) return `mesh-metrics ${url.split('/.build/')[1]?.split('/')[0] ?? ''}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\/.*\/bench\/\.build\//, '');
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`);
}

function summarise(path: string): string[] {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let library = 0;
  p.samples.forEach((id, i) => {
    const t = p.timeDeltas[i] ?? 0;
    const f = frames.get(id);
    if (f === undefined || f.functionName === '(idle)') return;
    total += t;
    if (LIBRARY.test(f.url)) library += t;
    byArea.set(area(f), (byArea.get(area(f)) ?? 0) + t);
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|\.build)\//, '')}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + t);
  });
  return [
    `${path}: ${(total / 1e6).toFixed(1)} s busy; mesh-metrics' own code ${((100 * library) / total).toFixed(1)} % of busy self time`,
    ' by area:', ...top(byArea, total, 12),
    ' hottest functions:', ...top(byFunction, total, 15),
  ];
}

const dir = process.argv[2] ?? 'bench/profiles';
for (const path of files(dir)) process.stdout.write(`${summarise(path).join('\n')}\n\n`);
