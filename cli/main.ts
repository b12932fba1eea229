#!/usr/bin/env node
import { main } from './cli.js';
import { terminalSafe } from './sanitize.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(terminalSafe(`mesh-metrics: ${error instanceof Error ? error.message : String(error)}\n`));
    process.exitCode = 1;
  },
);
