import { parseArgs } from 'node:util';

/** When the `outage` instance is down: from `startSeconds` to `startSeconds + lengthSeconds` of every period. */
export interface OutageSchedule {
  readonly startSeconds: number;
  readonly lengthSeconds: number;
  readonly periodSeconds: number;
}

export interface DemoOptions {
  readonly host: string;
  /** The gateway's port (its /metrics too); 0 picks a free one. */
  readonly gatewayPort: number;
  /** The three users instances' ports (healthy, flaky, outage); 0 picks free ones. */
  readonly usersPorts: readonly [number, number, number];
  /** Where each users instance serves /metrics, apart from its API so a stopped instance still reports. */
  readonly metricsPorts: readonly [number, number, number];
  /** Requests per second the traffic generator sends to the gateway. */
  readonly rps: number;
  readonly outage: OutageSchedule;
  /** Seconds before the demo stops by itself; `undefined` runs until Ctrl-C. */
  readonly durationSeconds: number | undefined;
  /** Seconds between refreshes of the live view; 0 turns the view off. */
  readonly refreshSeconds: number;
}

export const DEMO_USAGE = `Usage: npm start -- [options]

Runs a small service mesh on 127.0.0.1: a gateway (Express) calling a users service of three Koa instances
(healthy, flaky, and one that goes down for a while every minute) through a p2c_ewma balancer, retries, a
circuit breaker and a timeout, with traffic and a live "mesh-metrics stat" view.

Options:
  --duration <s>          stop after this many seconds and exit 0 (default: run until Ctrl-C)
  --gateway-port <port>   gateway port, /metrics included (default 3000)
  --users-ports <a,b,c>   the users instances' ports (default 4001,4002,4003)
  --metrics-ports <a,b,c> the users instances' /metrics ports (default 9001,9002,9003)
  --rps <n>               requests per second to the gateway (default 30)
  --outage <start,length,period>
                          seconds: the third instance is down from <start> to <start+length> of every <period>
                          (default 5,10,60: a 20 s run sees it go down and come back)
  --refresh <s>           seconds between view refreshes, 0 for no view (default 2)
  -h, --help              show this help
`;

function port(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TypeError(`${name}: not a port number: ${JSON.stringify(text)}`);
  return n;
}

function ports(name: string, text: string): [number, number, number] {
  const list = text.split(',').map((p) => port(name, p.trim()));
  if (list.length !== 3) throw new TypeError(`${name}: give three ports separated by commas, got ${JSON.stringify(text)}`);
  return list as [number, number, number];
}

function positive(name: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new TypeError(`${name}: not a ${allowZero ? 'non-negative' : 'positive'} number: ${JSON.stringify(text)}`);
  }
  return n;
}

function outage(text: string): OutageSchedule {
  const [start, length, period] = text.split(',').map((s) => positive('--outage', s.trim(), true));
  if (start === undefined || length === undefined || period === undefined || !(period > 0) || start + length > period) {
    throw new TypeError(`--outage: give start,length,period in seconds with start+length <= period, got ${JSON.stringify(text)}`);
  }
  return { startSeconds: start, lengthSeconds: length, periodSeconds: period };
}

/** The demo's defaults: the ports the README and samples/prometheus/prometheus.yml use. */
export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  host: '127.0.0.1',
  gatewayPort: 3000,
  usersPorts: [4001, 4002, 4003],
  metricsPorts: [9001, 9002, 9003],
  rps: 30,
  outage: { startSeconds: 5, lengthSeconds: 10, periodSeconds: 60 },
  durationSeconds: undefined,
  refreshSeconds: 2,
};

/** Parses the demo's command line; throws a `TypeError` naming the bad value. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      'gateway-port': { type: 'string' },
      'users-ports': { type: 'string' },
      'metrics-ports': { type: 'string' },
      rps: { type: 'string' },
      outage: { type: 'string' },
      refresh: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const d = DEFAULT_DEMO_OPTIONS;
  return {
    ...d,
    gatewayPort: values['gateway-port'] === undefined ? d.gatewayPort : port('--gateway-port', values['gateway-port']),
    usersPorts: values['users-ports'] === undefined ? d.usersPorts : ports('--users-ports', values['users-ports']),
    metricsPorts: values['metrics-ports'] === undefined ? d.metricsPorts : ports('--metrics-ports', values['metrics-ports']),
    rps: values.rps === undefined ? d.rps : positive('--rps', values.rps),
    outage: values.outage === undefined ? d.outage : outage(values.outage),
    durationSeconds: values.duration === undefined ? undefined : positive('--duration', values.duration),
    refreshSeconds: values.refresh === undefined ? d.refreshSeconds : positive('--refresh', values.refresh, true),
  };
}
