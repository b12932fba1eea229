/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The order of `items` for round `r`: rotated by `r`, so no variant always runs first or last. */
export function rotate<T>(items: readonly T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** CPU microseconds (user + system) between two `process.cpuUsage()` readings. */
export function cpuMicros(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage): number {
  return after.user - before.user + (after.system - before.system);
}
