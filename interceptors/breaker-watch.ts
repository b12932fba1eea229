import type { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import type { SelfMetrics } from '../lib/self-metrics.js';
import type { CircuitBreakerLike, DisposableLike } from './policy-walk.js';
import type { PolicyLogger } from './policy-types.js';

const STATE_NAMES = ['closed', 'open', 'half_open', 'isolated'] as const;

/**
 * Keeps `mesh_circuit_breaker_state{service}` equal to the circuit breakers' state (the highest state when a policy
 * holds several) from creation on, and logs each change. One listener per breaker; `dispose()` removes them all.
 */
export class BreakerWatch {
  private readonly subscriptions: DisposableLike[] = [];

  constructor(
    private readonly service: string,
    private readonly breakers: readonly CircuitBreakerLike[],
    private readonly metrics: ServiceMeshMetrics,
    private readonly self: SelfMetrics,
    private readonly logger: PolicyLogger | undefined,
  ) {
    if (breakers.length === 0) return;
    this.publish();
    for (const breaker of breakers) {
      this.subscriptions.push(breaker.onStateChange((state) => this.changed(state)));
    }
  }

  /** The number of listeners this watch holds (0 after `dispose()`). */
  get listenerCount(): number {
    return this.subscriptions.length;
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      try {
        s.dispose();
      } catch {
        this.self.internal();
      }
    }
  }

  private publish(): void {
    let state = 0;
    for (const b of this.breakers) if (typeof b.state === 'number' && b.state > state) state = b.state;
    this.metrics.updateCircuitBreakerState(this.service, state);
  }

  private changed(state: number): void {
    this.publish();
    const logger = this.logger;
    if (logger === undefined) return;
    try {
      const name = STATE_NAMES[state] ?? 'unknown';
      const fields = { service: this.service, circuit_state: name };
      if (state === 1 || state === 3) logger.warn(fields, `circuit ${name} for service ${this.service}`);
      else logger.info(fields, `circuit ${name} for service ${this.service}`);
    } catch {
      this.self.internal();
    }
  }
}
