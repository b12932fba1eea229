import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PUSHGATEWAY_BIN = process.env.MESH_PUSHGATEWAY_BIN ?? 'prometheus-pushgateway';

/** Whether Debian's `prometheus-pushgateway` can be run here. */
export function havePushgateway(): boolean {
  return spawnSync(PUSHGATEWAY_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPushgateway {
  readonly url: string;
  /** The gateway's own `/metrics` text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus-pushgateway exited early:\n${output()}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`prometheus-pushgateway did not become ready at ${url}:\n${output()}`);
}

/** Starts a Pushgateway on 127.0.0.1 with a free port and a temporary persistence file. */
export async function startPushgateway(): Promise<RunningPushgateway> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-pushgateway-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PUSHGATEWAY_BIN,
    [`--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${join(dir, 'metrics.store')}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    async metrics() {
      const res = await fetch(`${url}/metrics`);
      return res.text();
    },
    stop,
  };
}
