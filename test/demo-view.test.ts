import { expect } from 'chai';
import { renderReport, widestLine } from '../cli/table.js';
import type { StatReport } from '../cli/watcher.js';
import { startDemo } from '../samples/demo/demo.js';
import { DEFAULT_DEMO_OPTIONS } from '../samples/demo/options.js';
import { createDemoView } from '../samples/demo/view.js';

const latency = (p50: number, p95: number, p99: number) => ({ p50, p95, p99 });

/** The README's outage snapshot of the demo, as numbers. */
const DEMO_REPORT: StatReport = {
  at: '2026-12-03T07:30:12.000Z',
  windowSeconds: 2,
  endpoints: ['3000', '9001', '9002', '9003'].map((p) => ({ url: `http://127.0.0.1:${p}/metrics`, up: true })),
  outbound: [
    {
      service: 'users',
      requestsPerSecond: 28.5,
      successRatio: 1,
      latency: latency(0.019, 0.046, 0.061),
      inFlight: 0,
      retriesPerSecond: 0,
      circuit: 'closed',
      healthScore: 0.68,
      instances: 3,
      healthyInstances: 2,
      ejected: 1,
      byInstance: [
        { instance: 'http://127.0.0.1:4001', requestsPerSecond: 28, latency: latency(0.019, 0.046, 0.061), inFlight: 0, healthScore: 1 },
        { instance: 'http://127.0.0.1:4002', requestsPerSecond: 0.5, latency: latency(0.018, 0.024, 0.025), inFlight: 0, healthScore: 0.52 },
        { instance: 'http://127.0.0.1:4003', requestsPerSecond: 0, latency: latency(NaN, NaN, NaN), inFlight: 0, healthScore: 0.51 },
      ].map((i) => (Number.isNaN(i.latency.p50) ? { ...i, latency: { p50: null, p95: null, p99: null } } : i)),
    },
  ],
  inbound: [
    {
      service: 'gateway',
      requestsPerSecond: 28.5,
      successRatio: 1,
      latency: latency(0.021, 0.048, 0.061),
      inFlight: 0,
      routes: [
        { method: 'GET', route: '/api/orders', requestsPerSecond: 5.5, successRatio: 1, latency: latency(0.027, 0.048, 0.05) },
        { method: 'GET', route: '/api/users/:id', requestsPerSecond: 23, successRatio: 1, latency: latency(0.02, 0.047, 0.063) },
      ],
    },
    {
      service: 'users',
      requestsPerSecond: 28.5,
      successRatio: 1,
      latency: latency(0.011, 0.024, 0.036),
      inFlight: 0,
      routes: [
        { method: 'GET', route: '/users/:id', requestsPerSecond: 23, successRatio: 1, latency: latency(0.01, 0.024, 0.025) },
        ...['9001', '9002', '9003'].map((p, i) => ({
          method: 'GET',
          route: '/users/:id',
          endpoint: `http://127.0.0.1:${p}/metrics`,
          requestsPerSecond: [22.5, 0.5, 0][i] as number,
          successRatio: i === 2 ? null : 1,
          latency: i === 2 ? { p50: null, p95: null, p99: null } : latency(0.0099, 0.023, 0.025),
        })),
      ],
    },
  ],
};

describe('the demo view and mesh-metrics stat at 80 and 120 columns', () => {
  it('at 80 columns: the narrow layout, every line within 80', () => {
    const text = renderReport(DEMO_REPORT, { width: 80 });
    expect(widestLine(text)).to.be.at.most(80);
    expect(text).to.match(/^OUTBOUND\s+RPS\s+OK%\s+P50\s+P99\s+INFL\s+RTRY\/S\s+CIRCUIT\s+HEALTH\s+UP$/m);
    expect(text).to.match(/^users\s+28\.5\s+100%\s+19ms\s+61ms\s+0\s+0\.0\s+closed\s+0\.68\s+2\/3$/m);
    expect(text).to.match(/^ {2}127\.0\.0\.1:4002\s+0\.5\s+18ms\s+25ms\s+0\s+0\.52$/m);
    expect(text).to.match(/^ {2}GET \/users\/:id @ 127\.0\.0\.1:9001\s+22\.5\s+100%\s+9\.9ms\s+25ms$/m);
    expect(text).not.to.include('ENDPOINT'); // all up: the title line says so
    expect(text.split('\n')[0]).to.equal('mesh-metrics stat · 07:30:12 UTC · 2.0 s window · 4/4 endpoints up');
  });

  it('at 80 columns, an endpoint that is down is listed, and a long name is cut with …', () => {
    const report: StatReport = {
      ...DEMO_REPORT,
      endpoints: [...DEMO_REPORT.endpoints.slice(0, 3), { url: 'http://127.0.0.1:9003/metrics', up: false, error: 'ECONNREFUSED' }],
      outbound: [{ ...DEMO_REPORT.outbound[0]!, service: `users-${'x'.repeat(90)}` }],
    };
    const text = renderReport(report, { width: 80 });
    expect(widestLine(text)).to.be.at.most(80);
    expect(text).to.match(/^http:\/\/127\.0\.0\.1:9003\/metrics\s+DOWN \(ECONNREFUSED\)$/m);
    expect(text).to.match(/^users-x+…\s+28\.5\s+100%/m);
  });

  it('in a short terminal: per-endpoint inbound rows go first, then the view is cut with a note', () => {
    const full = renderReport(DEMO_REPORT, { width: 80 });
    expect(full.split('\n').length - 1).to.equal(17);
    const short = renderReport(DEMO_REPORT, { width: 80, height: 14 });
    expect(short.split('\n').length - 1).to.equal(14);
    expect(short).not.to.include(' @ ');
    expect(short).to.match(/^ {2}GET \/users\/:id\s+23\.0\s+100%/m);
    const tiny = renderReport(DEMO_REPORT, { width: 80, height: 6 });
    expect(tiny.split('\n').slice(0, -1)).to.deep.equal([
      ...full.split('\n').slice(0, 5),
      '… 9 more lines (a taller window shows them)',
    ]);
  });

  it('at 120 columns: the full layout, as without a width', () => {
    const text = renderReport(DEMO_REPORT, { width: 120 });
    expect(text).to.equal(renderReport(DEMO_REPORT));
    expect(widestLine(text)).to.be.within(81, 120);
    expect(text).to.match(/^OUTBOUND\s+RPS\s+SUCCESS\s+P50\s+P95\s+P99\s+INFLIGHT\s+RETRY\/S\s+CIRCUIT\s+HEALTH\s+INSTANCES$/m);
    expect(text).to.match(/^users\s+28\.5\s+100%\s+19ms\s+46ms\s+61ms\s+0\s+0\.0\s+closed\s+0\.68\s+2\/3 healthy, 1 ejected$/m);
    expect(text).to.include('  GET /users/:id @ http://127.0.0.1:9001/metrics');
  });

  it('the running demo fits an 80×24 terminal, and a 120-column one, OUTBOUND included', async function () {
    this.timeout(20_000);
    const demo = await startDemo({
      ...DEFAULT_DEMO_OPTIONS,
      gatewayPort: 0,
      usersPorts: [0, 0, 0],
      metricsPorts: [0, 0, 0],
      rps: 20,
      outage: { startSeconds: 0, lengthSeconds: 0, periodSeconds: 60 },
    });
    try {
      const narrow = createDemoView(demo, () => undefined, { clearScreen: true, columns: () => 80, rows: () => 24 });
      const wide = createDemoView(demo, () => undefined, { clearScreen: false, columns: () => 120, rows: () => 50 });
      await Promise.all([narrow.refresh(), wide.refresh()]);
      await new Promise((r) => setTimeout(r, 600));
      const [small, large] = await Promise.all([narrow.refresh(), wide.refresh()]);
      const screen = small.replace('\x1b[H\x1b[2J', '');
      expect(small.startsWith('\x1b[H\x1b[2J')).to.equal(true);
      expect(widestLine(screen)).to.be.at.most(80);
      // n newlines leave the cursor on row n + 1: more than 24 would scroll OUTBOUND off the top
      expect(screen.split('\n').length).to.be.at.most(24);
      expect(screen).to.match(/^OUTBOUND\s+RPS\s+OK%/m);
      expect(screen).to.match(/^users\s+\d/m);
      expect(screen).to.include('EVENTS (breaker and outlier ejection)');
      expect(widestLine(large)).to.be.within(81, 120);
      expect(large).to.match(/^OUTBOUND\s+RPS\s+SUCCESS\s+P50\s+P95/m);
    } finally {
      await demo.stop();
    }
  });
});
