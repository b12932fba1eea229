export interface BenchConfig {
  /** Interleaved rounds per comparison; medians are taken over them. */
  readonly rounds: number;
  /** Seconds per load-generator run. */
  readonly durationS: number;
  /** Concurrent connections of the load generator. */
  readonly connections: number;
  /** Shorter runs, for checking the harness (numbers not for publication). */
  readonly quick: boolean;
}

/** One compared figure: a candidate's median against a baseline's, over interleaved rounds. */
export interface Row {
  readonly suite: string;
  /** What is compared, e.g. "meshMetrics() vs bare Express". */
  readonly subject: string;
  /** Unit of baseline and candidate, e.g. "requests/s". */
  readonly metric: string;
  readonly baseline: number;
  readonly candidate: number;
  /** candidate / baseline. */
  readonly ratio: number;
  /** e.g. ">= 0.97x"; empty for a figure shown for context only. */
  readonly target: string;
  /** undefined for a context-only figure. */
  readonly met: boolean | undefined;
  /** Raw per-round values, for the JSON results. */
  readonly rounds?: Readonly<Record<string, readonly number[]>>;
}
