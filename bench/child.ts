import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

/** The core servers (and other measured processes) run on, and the one the load generator runs on. */
export interface Cores {
  readonly measured: number | undefined;
  readonly load: number | undefined;
}

let tasksetChecked: boolean | undefined;

/** Whether `taskset` can pin processes here. */
export function haveTaskset(): boolean {
  tasksetChecked ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetChecked;
}

let decided: (Cores & { readonly nproc: number }) | undefined;

/**
 * Measured process on the last core, load generator on the first; no pinning on one core or without taskset.
 * Decided on the first call (before the orchestrator pins itself, which would shrink what it sees to one core).
 */
export function cores(): Cores & { readonly nproc: number } {
  if (decided === undefined) {
    const nproc = availableParallelism();
    decided =
      nproc < 2 || !haveTaskset()
        ? { nproc, measured: undefined, load: undefined }
        : { nproc, measured: nproc - 1, load: 0 };
  }
  return decided;
}

/** `[command, args]` that runs `command args` pinned to `core` when one is given. */
export function pinned(core: number | undefined, command: string, args: readonly string[]): [string, string[]] {
  return core === undefined ? [command, [...args]] : ['taskset', ['-c', String(core), command, ...args]];
}

/** A compiled bench script next to this file, e.g. `workers/express-server.js`. */
export function script(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** A node child process that answers `request(type, payload)` over IPC; see `serveRequests`. */
export class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(
    readonly proc: ChildProcess,
    readonly info: Record<string, unknown>,
  ) {
    proc.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    proc.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker exited with ${code}`));
      this.pending.clear();
    });
  }

  /** Starts `node <script> ...args` pinned to `core`, and waits for its `ready` message. */
  static start(file: string, args: readonly string[], core: number | undefined, nodeArgs: readonly string[] = []): Promise<Worker> {
    const [cmd, argv] = pinned(core, process.execPath, [...nodeArgs, file, ...args]);
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return Worker.attach(proc, `${file} ${args.join(' ')}`);
  }

  /** Waits for the `ready` message of a worker started some other way (with an IPC channel), such as under valgrind. */
  static attach(proc: ChildProcess, name: string): Promise<Worker> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} exited with ${code} before ready`));
      proc.once('exit', onExit);
      proc.once('error', reject);
      proc.once('message', (m: { type?: string; info?: Record<string, unknown> }) => {
        proc.off('exit', onExit);
        if (m.type === 'ready') resolve(new Worker(proc, m.info ?? {}));
        else reject(new Error(`unexpected first message from ${name}: ${JSON.stringify(m)}`));
      });
    });
  }

  request<T>(type: string, payload: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, type, ...payload });
    });
  }

  /** Asks the worker to exit and waits for it (kills it after 5 s). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.send({ id: 0, type: 'exit' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

type Handler = (message: Record<string, unknown>) => unknown;

/** Child side: announces `ready` with `info`, then answers each request by its `type`. */
export function serveRequests(info: Record<string, unknown>, handlers: Record<string, Handler>): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('bench workers must be started with an IPC channel');
  process.on('message', (m: { id: number; type: string } & Record<string, unknown>) => {
    if (m.type === 'exit') {
      process.disconnect();
      process.exit(0);
    }
    const handler = handlers[m.type];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown request ${m.type}`);
        return handler(m);
      })
      .then(
        (result) => send({ id: m.id, result }),
        (error: unknown) => send({ id: m.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  send({ type: 'ready', info });
}

/** The standard requests of a measured server: `mark` starts a CPU window, `cpu` ends it (microseconds). */
export function cpuHandlers(): Record<string, Handler> {
  let start = process.cpuUsage();
  return {
    mark: () => {
      start = process.cpuUsage();
      return true;
    },
    cpu: () => {
      const now = process.cpuUsage();
      return now.user - start.user + (now.system - start.system);
    },
  };
}

/** A command line as BENCHMARKS.md shows it: `node` for this Node binary, paths relative to the working directory. */
export function commandLine(cmd: string, args: readonly string[]): string {
  const cwd = `${process.cwd()}/`;
  return [cmd, ...args]
    .map((a) => (a === process.execPath ? 'node' : a.startsWith(cwd) ? a.slice(cwd.length) : a))
    .join(' ');
}
