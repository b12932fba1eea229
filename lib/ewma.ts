/**
 * Peak-EWMA of latency, as Finagle's and Linkerd's balancers keep it: a sample above the current estimate replaces
 * it at once (the peak), a lower one pulls the estimate toward it with weight `1 - e^(-Δt/τ)`; between samples the
 * estimate decays toward 0 with the same time constant, so an instance left idle is tried again. Milliseconds.
 */
export class PeakEwma {
  private estimate = 0;
  private stamp = 0;

  /** @param decayMs the time constant τ, in milliseconds */
  constructor(private readonly decayMs: number) {}

  /** The estimate at time `now` (0 before the first sample). */
  read(now: number): number {
    if (this.estimate === 0) return 0;
    const elapsed = now - this.stamp;
    return elapsed > 0 ? this.estimate * Math.exp(-elapsed / this.decayMs) : this.estimate;
  }

  /** Feeds one latency sample taken at time `now`. Non-finite or negative samples are ignored. */
  observe(sampleMs: number, now: number): void {
    if (!(sampleMs >= 0) || sampleMs === Infinity) return;
    const elapsed = Math.max(0, now - this.stamp);
    if (sampleMs > this.estimate) {
      this.estimate = sampleMs;
    } else {
      const w = Math.exp(-elapsed / this.decayMs);
      this.estimate = this.estimate * w + sampleMs * (1 - w);
    }
    this.stamp = now;
  }
}

/** How much one attempt moves the health score: `score += HEALTH_SCORE_WEIGHT × (outcome − score)`. */
export const HEALTH_SCORE_WEIGHT = 0.2;

/** The next health score after one attempt (outcome 1 for success, 0 for failure). */
export function nextHealthScore(score: number, success: boolean): number {
  return score + HEALTH_SCORE_WEIGHT * ((success ? 1 : 0) - score);
}
