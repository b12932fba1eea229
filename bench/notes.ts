/** Method notes printed under each suite's table in BENCHMARKS.md (kept here so regeneration keeps them). */
export const NOTES: Record<string, readonly string[]> = {};
