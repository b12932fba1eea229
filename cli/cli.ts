import { terminalSafe } from './sanitize.js';
import { parseStatArgs, runStat, STAT_USAGE } from './stat-command.js';
import { packageVersion } from './version.js';

const USAGE = `Usage: mesh-metrics <command> [options]

Commands:
  stat <metrics-url>...   live view of the mesh from one or more /metrics endpoints

Options:
  -h, --help              show this help
  -v, --version           print the version of mesh-metrics

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

/** The exit code of `stat --once` when no endpoint could be scraped. */
export const ALL_DOWN_EXIT_CODE = 1;

/**
 * Runs the CLI with `argv` (without node and the script); resolves to the exit code: 0, 1 when `stat --once` could
 * scrape none of its endpoints, 2 for bad arguments. Messages that quote an argument are printed without its
 * control characters.
 */
export async function main(argv: readonly string[], io: CliOutput = STDIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version' || command === 'version') {
    io.out(`${terminalSafe(packageVersion())}\n`);
    return 0;
  }
  if (command !== 'stat') {
    io.err(terminalSafe(`mesh-metrics: unknown command ${JSON.stringify(command)}\n\n${USAGE}`));
    return 2;
  }
  let args;
  try {
    args = parseStatArgs(rest);
  } catch (error) {
    io.err(terminalSafe(`mesh-metrics stat: ${(error as Error).message}\n\n${STAT_USAGE}`));
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
  let last;
  try {
    last = await runStat(args, (text) => io.out(text), stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (args.once && last !== undefined && !last.endpoints.some((e) => e.up)) {
    const n = last.endpoints.length;
    io.err(`mesh-metrics stat: ${n === 1 ? 'the endpoint could not' : `none of the ${n} endpoints could`} be scraped\n`);
    return ALL_DOWN_EXIT_CODE;
  }
  return 0;
}
