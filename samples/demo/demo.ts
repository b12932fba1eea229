import { DemoEvents } from './events.js';
import { startGateway, type Gateway } from './gateway.js';
import type { DemoOptions } from './options.js';
import { startTraffic, type Traffic } from './traffic.js';
import { startUsersInstance, type Behaviour, type UsersInstance } from './users-service.js';

/** A running demo mesh. */
export interface Demo {
  readonly gateway: Gateway;
  readonly users: readonly UsersInstance[];
  /** Every /metrics endpoint: the gateway's, then each users instance's. */
  readonly metricsUrls: readonly string[];
  readonly events: DemoEvents;
  readonly traffic: Traffic;
  /** Stops traffic, timers and every server; resolves when all are closed. */
  stop(): Promise<void>;
}

const BEHAVIOURS: readonly Behaviour[] = ['healthy', 'flaky', 'outage'];

/** Takes the `outage` instance down and back on the schedule, counted from now. */
function scheduleOutage(instance: UsersInstance, o: DemoOptions['outage']): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const at = (seconds: number, fn: () => void): void => {
    const t = setTimeout(() => (timers.delete(t), fn()), seconds * 1000);
    timers.add(t);
  };
  const cycle = (): void => {
    at(o.startSeconds, () => void instance.goDown().catch(() => {}));
    at(o.startSeconds + o.lengthSeconds, () => void instance.comeBack().catch(() => {}));
    at(o.periodSeconds, cycle);
  };
  if (o.lengthSeconds > 0) cycle();
  return () => timers.forEach(clearTimeout);
}

/** Starts the users instances, the gateway, the outage schedule and the traffic; a busy port rejects clearly. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const events = new DemoEvents();
  const users: UsersInstance[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(users.map((u) => u.stop()));
  };
  try {
    for (const [i, behaviour] of BEHAVIOURS.entries()) {
      users.push(await startUsersInstance(behaviour, options.host, options.usersPorts[i] ?? 0, options.metricsPorts[i] ?? 0));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  let gateway: Gateway;
  try {
    gateway = await startGateway(options.host, options.gatewayPort, users.map((u) => u.url), events.logger);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const cancelOutage = scheduleOutage(users[2] as UsersInstance, options.outage);
  const watch = setInterval(() => events.watch(gateway.balancer), 250);
  const traffic = startTraffic(gateway.url, options.rps);
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    users,
    metricsUrls: [gateway.metricsUrl, ...users.map((u) => u.metricsUrl)],
    events,
    traffic,
    stop() {
      stopping ??= (async () => {
        cancelOutage();
        await traffic.stop();
        clearInterval(watch);
        events.watch(gateway.balancer);
        await gateway.stop();
        await stopAll();
      })();
      return stopping;
    },
  };
}
