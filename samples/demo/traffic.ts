/** Sends a steady mix of requests to the gateway until stopped. */
export interface Traffic {
  /** Requests sent and answered so far, by HTTP status (0 for a network error). */
  readonly answered: ReadonlyMap<number, number>;
  stop(): Promise<void>;
}

const TICK_MS = 50;
const MAX_IN_FLIGHT = 200;

function nextPath(): string {
  const r = Math.random();
  if (r < 0.75) return `/api/users/${1 + Math.floor(Math.random() * 100)}`;
  if (r < 0.98) return '/api/orders';
  return `/wp-login.php?probe=${Math.floor(Math.random() * 1e6)}`; // scanners: one __unmatched__ series
}

export function startTraffic(gatewayUrl: string, rps: number): Traffic {
  const answered = new Map<number, number>();
  const inFlight = new Set<Promise<void>>();
  let owed = 0;
  const send = (): void => {
    if (inFlight.size >= MAX_IN_FLIGHT) return;
    const p: Promise<void> = fetch(gatewayUrl + nextPath(), { signal: AbortSignal.timeout(5_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        answered.set(res.status, (answered.get(res.status) ?? 0) + 1);
      })
      .catch(() => {
        answered.set(0, (answered.get(0) ?? 0) + 1);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const timer = setInterval(() => {
    owed += (rps * TICK_MS) / 1000;
    for (; owed >= 1; owed--) send();
  }, TICK_MS);
  return {
    answered,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
