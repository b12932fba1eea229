import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import express from 'express';
import { meshMetrics } from '../../middleware/express.js';
import { metricsHandler } from '../../middleware/metrics-handler.js';
import { openMetricsRegistry } from '../helpers/exemplars.js';
import { freePort, havePrometheus, PrometheusServer } from './prometheus-server.js';

const RULES = resolve('samples/prometheus/rules.yml');
const REQUIRED = process.env.MESH_E2E_REQUIRED === '1';
const DEADLINE_MS = 20_000;
const SERVICE = 'orders';
/** Requests sent to each of the three replicas: different, so that only the right sum adds up. */
const PER_REPLICA = [90, 100, 110] as const;
const SENT = PER_REPLICA.reduce((a, b) => a + b, 0);
const TRACE_ID = '5ca1ab1e0000000000000000c0ffee01';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

interface Replica {
  readonly server: Server;
  readonly target: string;
}

/** One replica of the backend: its own registry (OpenMetrics, for exemplars), its own port, its own /metrics. */
async function startReplica(): Promise<Replica> {
  const registry = openMetricsRegistry();
  const app = express();
  app.use(meshMetrics({ registry, service: SERVICE }));
  app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id }));
  app.get('/metrics', metricsHandler({ registry }));
  const server = await new Promise<Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  return { server, target: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

function config(targets: readonly string[]): string {
  return `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${RULES}
scrape_configs:
  - job_name: ${SERVICE}
    static_configs:
      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]
`;
}

/** Calls `probe` every 250 ms until it returns a value, or fails with `what` once the deadline passes. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function send(target: string, count: number, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
      const res = await fetch(`http://${target}/orders/${i + j}`, { headers });
      await res.arrayBuffer();
      expect(res.status).to.equal(200);
    });
    await Promise.all(batch);
  }
}

/** Waits until every target's last scrape started after `time` (ms since the epoch; a little after the requests). */
async function scrapedAfter(p: PrometheusServer, time: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, time - Date.now())));
  await until('a scrape of every replica after the traffic', async () => {
    const { activeTargets } = await p.api<Targets>('targets');
    return activeTargets.every((t) => Date.parse(t.lastScrape) > time) ? true : undefined;
  });
}

type Targets = { activeTargets: { scrapeUrl: string; health: string; lastScrape: string; labels: Record<string, string> }[] };

if (!havePrometheus()) {
  if (REQUIRED) {
    describe('e2e: three replicas scraped by a real Prometheus', () => {
      it('needs Debian prometheus', () => expect.fail('prometheus is not installed and MESH_E2E_REQUIRED=1'));
    });
  } else {
    console.log('    SKIP e2e scaling: the prometheus binary is not installed (apt-get install prometheus)');
  }
} else {
  describe('e2e: three replicas scraped by a real Prometheus', function () {
    this.timeout(60_000);
    const replicas: Replica[] = [];
    let prometheus: PrometheusServer | undefined;
    let dir = '';

    before(async () => {
      for (let i = 0; i < 3; i++) replicas.push(await startReplica());
      dir = mkdtempSync(join(tmpdir(), 'mesh-e2e-scaling-'));
      writeFileSync(join(dir, 'prometheus.yml'), config(replicas.map((r) => r.target)));
      prometheus = new PrometheusServer(join(dir, 'prometheus.yml'), join(dir, 'data'), await freePort(), [
        '--enable-feature=exemplar-storage',
      ]);
      await prometheus.start();
      const p = prometheus;
      await until('every replica up', async () => {
        const { activeTargets } = await p.api<Targets>('targets');
        return activeTargets.length === 3 && activeTargets.every((t) => t.health === 'up') ? true : undefined;
      });
    });

    after(async () => {
      await prometheus?.stop();
      await Promise.all(
        replicas.map((r) => {
          const closed = new Promise((done) => r.server.close(done));
          r.server.closeAllConnections();
          return closed;
        }),
      );
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('sums the requests of three replicas to exactly what was sent, one scrape after the traffic', async () => {
      const p = prometheus as PrometheusServer;
      // One request each first, scraped, so that every series has a sample before the bulk (rate() needs two).
      await send(replicas[0]!.target, 1, { traceparent: TRACEPARENT });
      await Promise.all(replicas.slice(1).map((r) => send(r.target, 1)));
      await scrapedAfter(p, Date.now() + 20);
      await Promise.all(replicas.map((r, i) => send(r.target, PER_REPLICA[i]! - 1)));
      // Within one scrape interval every replica has been scraped again, after the last request.
      await scrapedAfter(p, Date.now() + 20);
      const [sum] = await p.query(`sum(mesh_http_server_request_duration_seconds_count{service="${SERVICE}"})`);
      expect(Number(sum?.value[1])).to.equal(SENT);
      const perReplica = await p.query(`mesh_http_server_request_duration_seconds_count{service="${SERVICE}"}`);
      const byTarget = Object.fromEntries(perReplica.map((s) => [s.metric.instance, Number(s.value[1])]));
      expect(byTarget).to.deep.equal(Object.fromEntries(replicas.map((r, i) => [r.target, PER_REPLICA[i]])));
    });

    it('the recording rules aggregate the replicas by service and route', async () => {
      const p = prometheus as PrometheusServer;
      const rate = await until('service_route:mesh_http_server_requests:rate1m', async () => {
        const r = await p.query(`service_route:mesh_http_server_requests:rate1m{service="${SERVICE}"}`);
        return r.length > 0 && Number(r[0]?.value[1]) > 0 ? r : undefined;
      });
      expect(rate.map((s) => s.metric)).to.deep.equal([
        { __name__: 'service_route:mesh_http_server_requests:rate1m', service: SERVICE, method: 'GET', route: '/orders/:id' },
      ]);
      const errors = await until('service_route:mesh_http_server_errors:ratio_rate1m', async () => {
        const r = await p.query(`service_route:mesh_http_server_errors:ratio_rate1m{service="${SERVICE}"}`);
        return r.length > 0 ? r : undefined;
      });
      expect(errors.map((s) => [s.metric.route, Number(s.value[1])])).to.deep.equal([['/orders/:id', 0]]);
      const p99 = await until('service_route:mesh_http_server_response_first_byte_seconds:p99_1m', async () => {
        const r = await p.query(`service_route:mesh_http_server_response_first_byte_seconds:p99_1m{service="${SERVICE}"}`);
        return r.length > 0 ? r : undefined;
      });
      expect(p99).to.have.length(1);
      expect(p99[0]?.metric).to.not.have.property('instance');
    });

    it('returns the trace id that was sent from /api/v1/query_exemplars', async () => {
      const p = prometheus as PrometheusServer;
      type ExemplarData = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];
      const query = encodeURIComponent(`mesh_http_server_request_duration_seconds_bucket{service="${SERVICE}"}`);
      const end = Math.ceil(Date.now() / 1000) + 60;
      const found = await until('an exemplar carrying the trace id', async () => {
        const data = await p.api<ExemplarData>(`query_exemplars?query=${query}&start=${end - 600}&end=${end}`);
        return data.find((d) => d.exemplars.some((e) => e.labels.trace_id === TRACE_ID));
      });
      expect(found.seriesLabels.instance).to.equal(replicas[0]!.target);
      expect(found.seriesLabels.route).to.equal('/orders/:id');
      const exemplar = found.exemplars.find((e) => e.labels.trace_id === TRACE_ID);
      expect(exemplar?.labels).to.deep.equal({ trace_id: TRACE_ID });
      expect(Number(exemplar?.value)).to.be.at.most(Number(found.seriesLabels.le));
    });
  });
}
