import { parseStatArgs, runStat, STAT_USAGE } from './stat-command.js';

const USAGE = `Usage: mesh-metrics <command> [options]

Commands:
  stat <metrics-url>...   live view of the mesh from one or more /metrics endpoints

Run "mesh-metrics stat --help" for the options.
`;

/** Where the CLI writes. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliOutput = STDIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'stat') {
    io.err(`mesh-metrics: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  let args;
  try {
    args = parseStatArgs(rest);
  } catch (error) {
    io.err(`mesh-metrics stat: ${(error as Error).message}\n\n${STAT_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.out(STAT_USAGE);
    return 0;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runStat(args, (text) => io.out(text), stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
