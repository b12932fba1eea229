/** Forking, stopping and scraping `node:cluster` workers of `test/fixtures/cluster-worker.ts`. */
import cluster, { type Worker } from 'node:cluster';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';

export const WORKER_SCRIPT = fileURLToPath(new URL('../fixtures/cluster-worker.ts', import.meta.url));

export interface Forked {
  readonly worker: Worker;
  readonly port: number;
}

/** Runs the fixture worker under tsx (call once before forking). */
export function setupWorkers(): void {
  cluster.setupPrimary({ exec: WORKER_SCRIPT, execArgv: ['--import', 'tsx'], silent: false });
}

/** Forks one fixture worker; resolves once it listens on the shared port. */
export function fork(env: Record<string, string>): Promise<Forked> {
  const worker = cluster.fork(env);
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'mesh-test:listening') resolve({ worker, port: m.port ?? 0 });
    });
    worker.once('exit', (code) => reject(new Error(`cluster worker exited early with code ${code}`)));
  });
}

export async function stop(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = new Promise((r) => worker.once('exit', r));
  worker.process.kill('SIGKILL');
  await exited;
}

export interface Got {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly text: string;
}

/** One GET on a new connection (so the cluster hands each one to the next worker). */
export function getOnce(port: number, path: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

/** `total` requests to `/users/<n>`, `concurrency` at a time, each on its own connection. */
export async function traffic(port: number, total: number, concurrency = 8): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      const r = await getOnce(port, `/users/${next}`);
      if (r.status !== 200) throw new Error(`traffic got ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}
