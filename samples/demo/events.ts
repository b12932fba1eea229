import type { Balancer, PolicyLogger } from 'mesh-metrics';

/** Breaker and ejection events, for the lines under the live view and the closing summary. */
export class DemoEvents {
  readonly lines: string[] = [];
  circuitOpens = 0;
  ejections = 0;
  giveUps = 0;
  private readonly seenEjections = new Map<string, number>();
  private readonly started = Date.now();

  private add(text: string): void {
    const t = ((Date.now() - this.started) / 1000).toFixed(1).padStart(5);
    this.lines.push(`${t}s  ${text}`);
  }

  /** A pino-compatible logger for meshPolicy: circuit state changes and calls that failed after every retry. */
  readonly logger: PolicyLogger = {
    info: (_fields, message) => this.add(message),
    warn: (fields, message) => {
      if ((fields as { circuit_state?: string }).circuit_state === 'open') this.circuitOpens += 1;
      if (message.includes('failed after')) {
        this.giveUps += 1; // counted, not listed: the view shows failed calls as a success ratio
        return;
      }
      this.add(message);
    },
  };

  /** Notes instances ejected or returned since the last look. */
  watch(balancer: Balancer): void {
    for (const i of balancer.instances()) {
      const before = this.seenEjections.get(i.origin) ?? 0;
      if (i.ejections > before) {
        this.ejections += i.ejections - before;
        this.add(`instance ${i.origin} ejected (${i.consecutiveFailures} consecutive failures)`);
      }
      this.seenEjections.set(i.origin, i.ejections);
    }
  }

  /** The latest `n` events. */
  recent(n: number): string[] {
    return this.lines.slice(-n);
  }
}
