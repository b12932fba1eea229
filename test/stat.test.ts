import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseExposition, parseSampleLine } from '../cli/parse-exposition.js';
import { histogramQuantile } from '../cli/quantiles.js';
import { counterIncrease } from '../cli/rates.js';
import { main } from '../cli/cli.js';
import { parseStatArgs } from '../cli/stat-command.js';
import { renderReport } from '../cli/table.js';
import { createStatWatcher } from '../cli/watcher.js';
import { Registry } from './helpers/client.js';
import { LoadBalancerMetrics, serveMetrics, ServiceMeshMetrics } from 'mesh-metrics';

/** A real HTTP server whose /metrics body (and status) the test changes between scrapes. */
class Fixture {
  body = '';
  status = 200;
  readonly server: Server = createServer((req, res) => {
    res.writeHead(this.status, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(this.body);
  });
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/metrics`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Outbound {
  ok: number;
  failed: number;
  retries: number;
  circuit: number;
  /** Cumulative counts for le 0.1, 0.2, 0.4, +Inf. */
  buckets: [number, number, number, number];
}

function outboundText(o: Outbound): string {
  const [b1, b2, b3, inf] = o.buckets;
  return `# HELP mesh_calls_total Outbound calls.
# TYPE mesh_calls_total counter
mesh_calls_total{service="users",operation="get_user",status="success"} ${o.ok}
mesh_calls_total{service="users",operation="get_user",status="failure",error_type="http_5xx"} ${o.failed}
# TYPE mesh_call_duration_seconds histogram
mesh_call_duration_seconds_bucket{le="0.1",service="users",operation="get_user"} ${b1}
mesh_call_duration_seconds_bucket{le="0.2",service="users",operation="get_user"} ${b2}
mesh_call_duration_seconds_bucket{le="0.4",service="users",operation="get_user"} ${b3}
mesh_call_duration_seconds_bucket{le="+Inf",service="users",operation="get_user"} ${inf}
mesh_call_duration_seconds_sum{service="users",operation="get_user"} 1.5
mesh_call_duration_seconds_count{service="users",operation="get_user"} ${inf}
# TYPE mesh_retry_attempts_total counter
mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"} ${o.retries}
# TYPE mesh_circuit_breaker_state gauge
mesh_circuit_breaker_state{service="users"} ${o.circuit}
# TYPE mesh_lb_instance_health_score gauge
mesh_lb_instance_health_score{service="users",instance="http://127.0.0.1:4001"} 1
mesh_lb_instance_health_score{service="users",instance="http://127.0.0.1:4002"} 0.5
# TYPE mesh_healthy_instances gauge
mesh_healthy_instances{service="users"} 1
# TYPE mesh_lb_active_connections gauge
mesh_lb_active_connections{service="users",instance="http://127.0.0.1:4001"} 2
mesh_lb_active_connections{service="users",instance="http://127.0.0.1:4002"} 1
# TYPE mesh_lb_requests_total counter
mesh_lb_requests_total{service="users",instance="http://127.0.0.1:4001",strategy="p2c_ewma"} ${o.ok}
mesh_lb_requests_total{service="users",instance="http://127.0.0.1:4002",strategy="p2c_ewma"} ${o.failed + o.retries}
`;
}

function inboundText(ok: number, errors: number, inFlight: number): string {
  return `# TYPE mesh_http_server_request_duration_seconds histogram
mesh_http_server_request_duration_seconds_bucket{le="0.05",service="users",method="GET",route="/users/:id",status_code="200"} ${ok}
mesh_http_server_request_duration_seconds_bucket{le="+Inf",service="users",method="GET",route="/users/:id",status_code="200"} ${ok}
mesh_http_server_request_duration_seconds_count{service="users",method="GET",route="/users/:id",status_code="200"} ${ok}
mesh_http_server_request_duration_seconds_bucket{le="0.05",service="users",method="GET",route="/users/:id",status_code="503"} 0
mesh_http_server_request_duration_seconds_bucket{le="+Inf",service="users",method="GET",route="/users/:id",status_code="503"} ${errors}
mesh_http_server_request_duration_seconds_count{service="users",method="GET",route="/users/:id",status_code="503"} ${errors}
# TYPE mesh_http_server_requests_in_flight gauge
mesh_http_server_requests_in_flight{service="users"} ${inFlight}
`;
}

/** A clock the test moves by hand, so rates are exact. */
function manualClock(): { now: number; clock: () => number } {
  const c = { now: 1_700_000_000_000, clock: () => c.now };
  return c;
}

describe('mesh-metrics stat', () => {
  describe('parseExposition', () => {
    it('reads labels with escapes, special values, timestamps and exemplars', () => {
      const e = parseExposition(
        [
          '# HELP a_total A.',
          '# TYPE a_total counter',
          'a_total{x="q\\"uo\\\\te\\nnl",y="a,b=c"} 3 1700000000000',
          'b NaN',
          'c{le="+Inf"} +Inf',
          'd -Inf',
          'e_total{z="1"} 2.5e3 # {trace_id="abc"} 1 1.7e9',
          'not a sample line',
          'f{unterminated="x} 1',
        ].join('\n'),
      );
      expect(e.types.get('a_total')).to.equal('counter');
      expect(e.samples.map((s) => s.name)).to.deep.equal(['a_total', 'b', 'c', 'd', 'e_total']);
      expect(e.samples[0]).to.deep.equal({ name: 'a_total', labels: { x: 'q"uo\\te\nnl', y: 'a,b=c' }, value: 3 });
      expect(e.samples[1]?.value).to.be.NaN;
      expect(e.samples[2]?.value).to.equal(Infinity);
      expect(e.samples[3]?.value).to.equal(-Infinity);
      expect(e.samples[4]?.value).to.equal(2500);
      expect(e.badLines).to.deep.equal([8, 9]);
      expect(parseSampleLine('x{} 1')).to.deep.equal({ name: 'x', labels: {}, value: 1 });
    });
  });

  describe('histogramQuantile', () => {
    const buckets = [
      { le: 0.1, count: 40 },
      { le: 0.2, count: 80 },
      { le: 0.4, count: 100 },
      { le: Infinity, count: 100 },
    ];
    it('interpolates linearly inside the bucket holding the rank, as Prometheus does', () => {
      expect(histogramQuantile(0.5, buckets)).to.be.closeTo(0.125, 1e-12);
      expect(histogramQuantile(0.95, buckets)).to.be.closeTo(0.35, 1e-12);
      expect(histogramQuantile(0.2, buckets)).to.be.closeTo(0.05, 1e-12);
    });
    it('answers the highest finite bound when the rank is in +Inf, and null without data', () => {
      const tail = [...buckets.slice(0, 3), { le: Infinity, count: 200 }];
      expect(histogramQuantile(0.99, tail)).to.equal(0.4);
      expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 0 }])).to.equal(null);
      expect(histogramQuantile(0.5, [{ le: 0.1, count: 3 }])).to.equal(null);
    });
    it('treats a smaller counter as a reset', () => {
      expect(counterIncrease(10, 25)).to.equal(15);
      expect(counterIncrease(100, 30)).to.equal(30);
      expect(counterIncrease(undefined, 7)).to.equal(7);
    });
  });

  describe('against a served fixture', () => {
    const fixture = new Fixture();
    const inbound = new Fixture();
    let url = '';
    let inboundUrl = '';
    before(async () => {
      url = await fixture.start();
      inboundUrl = await inbound.start();
    });
    after(async () => {
      await fixture.stop();
      await inbound.stop();
    });
    beforeEach(() => {
      fixture.status = 200;
    });

    it('computes exact rates, success ratio, quantiles and gauges from two scrapes', async () => {
      const t = manualClock();
      const watcher = createStatWatcher([url], { clock: t.clock });
      fixture.body = outboundText({ ok: 10, failed: 0, retries: 0, circuit: 0, buckets: [0, 0, 0, 0] });
      const first = await watcher.tick();
      expect(first.windowSeconds).to.equal(0);
      t.now += 2000;
      fixture.body = outboundText({ ok: 46, failed: 4, retries: 6, circuit: 1, buckets: [40, 80, 100, 100] });
      const report = await watcher.tick();
      expect(report.windowSeconds).to.equal(2);
      expect(report.endpoints).to.deep.equal([{ url, up: true }]);
      expect(report.outbound).to.have.length(1);
      const users = report.outbound[0]!;
      expect(users.service).to.equal('users');
      expect(users.requestsPerSecond).to.equal(20); // (36 + 4) calls / 2 s
      expect(users.successRatio).to.equal(0.9); // 36 / 40
      expect(users.retriesPerSecond).to.equal(3);
      expect(users.latency.p50).to.be.closeTo(0.125, 1e-12);
      expect(users.latency.p95).to.be.closeTo(0.35, 1e-12);
      expect(users.latency.p99).to.be.closeTo(0.39, 1e-12);
      expect(users.circuit).to.equal('open');
      expect(users.inFlight).to.equal(3);
      expect(users.healthScore).to.equal(0.75);
      expect(users.instances).to.equal(2);
      expect(users.healthyInstances).to.equal(1);
      expect(users.ejected).to.equal(1);
      expect(users.byInstance).to.equal(undefined);
      const table = renderReport(report);
      expect(table).to.match(/^users\s+20\.0\s+90\.0%\s+125ms\s+350ms\s+390ms\s+3\s+3\.0\s+open\s+0\.75\s+1\/2 healthy, 1 ejected$/m);
    });

    it('splits by instance on request', async () => {
      const t = manualClock();
      const watcher = createStatWatcher([url], { clock: t.clock, byInstance: true });
      fixture.body = outboundText({ ok: 0, failed: 0, retries: 0, circuit: 0, buckets: [0, 0, 0, 0] });
      await watcher.tick();
      t.now += 4000;
      fixture.body = outboundText({ ok: 8, failed: 2, retries: 2, circuit: 0, buckets: [10, 10, 10, 10] });
      const users = (await watcher.tick()).outbound[0]!;
      expect(users.byInstance?.map((i) => [i.instance, i.requestsPerSecond, i.inFlight, i.healthScore])).to.deep.equal([
        ['http://127.0.0.1:4001', 2, 2, 1],
        ['http://127.0.0.1:4002', 1, 1, 0.5],
      ]);
      expect(users.circuit).to.equal('closed');
    });

    it('handles a counter reset between scrapes (the process restarted)', async () => {
      const t = manualClock();
      const watcher = createStatWatcher([url], { clock: t.clock });
      fixture.body = outboundText({ ok: 1000, failed: 10, retries: 50, circuit: 0, buckets: [900, 1000, 1010, 1010] });
      await watcher.tick();
      t.now += 2000;
      fixture.body = outboundText({ ok: 30, failed: 0, retries: 4, circuit: 0, buckets: [30, 30, 30, 30] });
      const users = (await watcher.tick()).outbound[0]!;
      expect(users.requestsPerSecond).to.equal(15);
      expect(users.successRatio).to.equal(1);
      expect(users.retriesPerSecond).to.equal(2);
      expect(users.latency.p50).to.be.closeTo(0.05, 1e-12);
    });

    it('reports inbound routes with exact rates and success, per endpoint on request', async () => {
      const second = new Fixture();
      const secondUrl = await second.start();
      try {
        const t = manualClock();
        const watcher = createStatWatcher([inboundUrl, secondUrl], { clock: t.clock, byInstance: true });
        inbound.body = inboundText(100, 0, 0);
        second.body = inboundText(0, 0, 0);
        await watcher.tick();
        t.now += 5000;
        inbound.body = inboundText(145, 5, 2);
        second.body = inboundText(25, 0, 1);
        const report = await watcher.tick();
        expect(report.outbound).to.deep.equal([]);
        const [users] = report.inbound;
        expect(users?.service).to.equal('users');
        expect(users?.requestsPerSecond).to.equal(15); // (50 + 25) / 5 s
        expect(users?.successRatio).to.equal(70 / 75);
        expect(users?.inFlight).to.equal(3);
        expect(users?.routes.map((r) => [r.method, r.route, r.endpoint, r.requestsPerSecond, r.successRatio])).to.deep.equal([
          ['GET', '/users/:id', undefined, 15, 70 / 75],
          ['GET', '/users/:id', inboundUrl, 10, 0.9],
          ['GET', '/users/:id', secondUrl, 5, 1],
        ]);
        // rank 37.5 of 75 observations, 70 of them in the first bucket (le 0.05)
        expect(users?.latency.p50).to.be.closeTo((0.05 * 37.5) / 70, 1e-12);
      } finally {
        await second.stop();
      }
    });

    it('shows an unreachable or failing endpoint as down and keeps the others', async () => {
      const closed = new Fixture();
      const closedUrl = await closed.start();
      await closed.stop();
      const t = manualClock();
      const watcher = createStatWatcher([url, closedUrl], { clock: t.clock });
      fixture.body = outboundText({ ok: 0, failed: 0, retries: 0, circuit: 0, buckets: [0, 0, 0, 0] });
      await watcher.tick();
      t.now += 1000;
      fixture.body = outboundText({ ok: 5, failed: 0, retries: 0, circuit: 0, buckets: [5, 5, 5, 5] });
      const report = await watcher.tick();
      expect(report.endpoints).to.deep.equal([
        { url, up: true },
        { url: closedUrl, up: false, error: 'ECONNREFUSED' },
      ]);
      expect(report.outbound[0]?.requestsPerSecond).to.equal(5);
      expect(renderReport(report)).to.include(`${closedUrl}  DOWN (ECONNREFUSED)`);

      fixture.status = 500;
      t.now += 1000;
      const failing = await watcher.tick();
      expect(failing.endpoints[0]).to.deep.equal({ url, up: false, error: 'HTTP 500' });
      expect(failing.outbound).to.deep.equal([]);
    });

    it('reads a real registry through serveMetrics (gzipped), and names a stalled endpoint a timeout', async () => {
      const registry = new Registry();
      const mesh = new ServiceMeshMetrics({ registry });
      const lb = new LoadBalancerMetrics({ registry });
      const server = serveMetrics({ port: 0, host: '127.0.0.1', registry });
      const { url: realUrl } = await server.listening;
      const stalled = createServer(() => {}); // accepts, never answers
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const stalledUrl = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/metrics`;
      try {
        const t = manualClock();
        const watcher = createStatWatcher([realUrl, stalledUrl], { clock: t.clock, timeoutMs: 300, byInstance: true });
        mesh.recordCallSuccess('orders', 'list', 0.02);
        await watcher.tick();
        for (let i = 0; i < 8; i++) mesh.recordCallSuccess('orders', 'list', 0.02);
        for (let i = 0; i < 2; i++) mesh.recordCallFailure('orders', 'list', 'timeout', 0.3);
        lb.recordRequest('orders', 'http://10.0.0.1:80', 'round_robin');
        lb.updateHealthScore('orders', 'http://10.0.0.1:80', 0.25);
        t.now += 2000;
        const report = await watcher.tick();
        expect(report.endpoints).to.deep.equal([
          { url: realUrl, up: true },
          { url: stalledUrl, up: false, error: 'timeout' },
        ]);
        const orders = report.outbound[0];
        expect([orders?.service, orders?.requestsPerSecond, orders?.successRatio]).to.deep.equal(['orders', 5, 0.8]);
        expect(orders?.byInstance?.map((i) => [i.instance, i.requestsPerSecond, i.healthScore])).to.deep.equal([
          ['http://10.0.0.1:80', 0.5, 0.25],
        ]);
      } finally {
        stalled.closeAllConnections();
        stalled.close();
        await server.close();
      }
    });

    it('runs as a command: --once --json prints one report (the bin entry), a table, bad arguments exit 2', async () => {
      fixture.body = outboundText({ ok: 3, failed: 0, retries: 0, circuit: 2, buckets: [3, 3, 3, 3] });
      const json = await runCli(['stat', '--once', '--json', '--interval', '0.2', url]);
      expect(json.code).to.equal(0);
      const report = JSON.parse(json.stdout) as { outbound: { service: string; circuit: string }[] };
      expect(report.outbound.map((s) => [s.service, s.circuit])).to.deep.equal([['users', 'half_open']]);
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) };
      expect(await main(['stat', '--once', '--interval', '0.2', url], io)).to.equal(0);
      expect(out.join('')).to.match(/^OUTBOUND\s+RPS\s+SUCCESS/m);
      expect(await main(['stat', '--interval', 'soon', url], io)).to.equal(2);
      expect(err.join('')).to.include('--interval must be a positive number of seconds, got "soon"');
      expect(await main(['top'], io)).to.equal(2);
      expect(err.join('')).to.include('unknown command "top"');
      expect(() => parseStatArgs([])).to.throw(TypeError, /at least one metrics URL/);
      expect(() => createStatWatcher(['ftp://x/metrics'])).to.throw(TypeError, /ftp:\/\/x\/metrics/);
    });
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
