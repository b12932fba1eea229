import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from '../helpers/client.js';
import { serveMetrics, ServiceMeshMetrics, type MetricsServer } from 'mesh-metrics';
import { startDemo, type Demo } from '../../samples/demo/demo.js';
import { DEFAULT_DEMO_OPTIONS } from '../../samples/demo/options.js';
import { havePromtool, promtoolProblems } from '../helpers/exposition.js';
import { freePort, havePrometheus, PrometheusServer } from './prometheus-server.js';
import { alertSignal, dashboardQueries } from './queries.js';

const SAMPLES = resolve('samples/prometheus');
const REQUIRED = process.env.MESH_E2E_REQUIRED === '1';
/** How long the suite waits for every query to have data before failing with the empty ones. */
const DATA_DEADLINE_MS = 30_000;

interface RuleGroup {
  rules: { type: 'recording' | 'alerting'; name: string; query: string; health: string }[];
}

/**
 * The shipped samples/prometheus/prometheus.yml pointed at this run's ports, plus one more job: a small registry
 * whose calls family is capped at 2 series, so `mesh_metrics_overflow_total` exists (the demo never overflows).
 */
function configFor(demo: Demo, overflowTarget: string): string {
  const hostPort = (url: string): string => new URL(url).host;
  const shipped = readFileSync(join(SAMPLES, 'prometheus.yml'), 'utf8');
  const users = demo.users.map((u) => `'${hostPort(u.metricsUrl)}'`).join(', ');
  const config = shipped
    .replace("['127.0.0.1:3000']", `['${hostPort(demo.gateway.metricsUrl)}']`)
    .replace("['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']", `[${users}]`)
    .replace('  - rules.yml', `  - ${join(SAMPLES, 'rules.yml')}`)
    .replace('  - alerts.yml', `  - ${join(SAMPLES, 'alerts.yml')}`);
  expect(config, 'the shipped config changed shape; update this suite').to.not.include('127.0.0.1:9001');
  return `${config}
  - job_name: overflow-fixture
    static_configs:
      - targets: ['${overflowTarget}']
`;
}

/** Retries `emptyOf` until it returns nothing or the deadline passes; returns what was still empty. */
async function untilAllHaveData(emptyOf: () => Promise<string[]>): Promise<string[]> {
  const deadline = Date.now() + DATA_DEADLINE_MS;
  let empty = await emptyOf();
  while (empty.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1_000));
    empty = await emptyOf();
  }
  return empty;
}

describe('e2e: the demo mesh scraped by a real Prometheus', function () {
  this.timeout(90_000);
  let demo: Demo | undefined;
  let overflow: MetricsServer | undefined;
  let overflowTimer: ReturnType<typeof setInterval> | undefined;
  let prometheus: PrometheusServer | undefined;
  let dir = '';

  before(async function () {
    if (!havePrometheus()) {
      if (REQUIRED) throw new Error('prometheus is not installed (Debian package "prometheus") and MESH_E2E_REQUIRED=1');
      console.log('    SKIP e2e: the prometheus binary is not installed (apt-get install prometheus); npm run test:e2e fails instead');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'mesh-e2e-'));
    demo = await startDemo({
      ...DEFAULT_DEMO_OPTIONS,
      gatewayPort: 0,
      usersPorts: [0, 0, 0],
      metricsPorts: [0, 0, 0],
      rps: 40,
      outage: { startSeconds: 2, lengthSeconds: 5, periodSeconds: 60 },
    });
    const registry = new Registry();
    const capped = new ServiceMeshMetrics({ registry, maxSeries: 2 });
    let n = 0;
    overflowTimer = setInterval(() => capped.recordCallSuccess(`service_${n++ % 10}`, 'op', 0.01), 100);
    overflow = serveMetrics({ port: 0, host: '127.0.0.1', registry });
    const overflowAddress = await overflow.listening;
    writeFileSync(join(dir, 'prometheus.yml'), configFor(demo, `127.0.0.1:${overflowAddress.port}`));
    prometheus = new PrometheusServer(join(dir, 'prometheus.yml'), join(dir, 'data'), await freePort());
    await prometheus.start();
  });

  after(async () => {
    await prometheus?.stop();
    if (overflowTimer) clearInterval(overflowTimer);
    await overflow?.close();
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every target is up', async () => {
    const p = prometheus as PrometheusServer;
    type Targets = { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    const down = await untilAllHaveData(async () => {
      const { activeTargets } = await p.api<Targets>('targets');
      if (activeTargets.length !== 5) return [`${activeTargets.length} targets instead of 5`];
      return activeTargets.filter((t) => t.health !== 'up').map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`);
    });
    expect(down, `targets not up:\n${down.join('\n')}\n${p.output}`).to.deep.equal([]);
  });

  it('every recording rule and every alert signal returns data, and every rule is healthy', async () => {
    const p = prometheus as PrometheusServer;
    const { groups } = await p.api<{ groups: RuleGroup[] }>('rules');
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.type === 'recording')).to.have.length(10);
    expect(rules.filter((r) => r.type === 'alerting')).to.have.length(8);
    const empty = await untilAllHaveData(async () => {
      const missing: string[] = [];
      for (const r of rules) {
        const expr = r.type === 'recording' ? r.name : alertSignal(r.query);
        if ((await p.query(expr)).length === 0) missing.push(`${r.type} ${r.name}: ${expr}`);
      }
      return missing;
    });
    expect(empty, `queries without data:\n${empty.join('\n')}`).to.deep.equal([]);
    const after = (await p.api<{ groups: RuleGroup[] }>('rules')).groups.flatMap((g) => g.rules);
    expect(after.filter((r) => r.health !== 'ok').map((r) => r.name)).to.deep.equal([]);
  });

  it('every dashboard panel query and variable returns data', async () => {
    const p = prometheus as PrometheusServer;
    const text = readFileSync(join(SAMPLES, 'dashboard.json'), 'utf8');
    const variables = (JSON.parse(text) as { templating: { list: { name: string; definition?: string }[] } }).templating.list
      .filter((v) => v.definition?.startsWith('label_values('))
      .map((v) => {
        const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.definition as string);
        return { panel: `variable ${v.name}`, expr: `count by (${m?.[2]}) (${(m?.[1] ?? '').replaceAll('$service', '.*')})` };
      });
    const queries = [...dashboardQueries(text), ...variables];
    const empty = await untilAllHaveData(async () => {
      const missing: string[] = [];
      for (const q of queries) if ((await p.query(q.expr)).length === 0) missing.push(`${q.panel}: ${q.expr}`);
      return missing;
    });
    expect(empty, `dashboard queries without data:\n${empty.join('\n')}`).to.deep.equal([]);
  });

  it('keeps the upstream instance label on the balancer families (the shipped relabeling)', async () => {
    const p = prometheus as PrometheusServer;
    const series = await p.query('mesh_lb_requests_total');
    const users = (demo as Demo).users.map((u) => u.url);
    expect(series.map((s) => s.metric.instance).sort()).to.deep.equal([...users].sort());
    expect(new Set(series.map((s) => s.metric.scrape_instance))).to.deep.equal(
      new Set([new URL((demo as Demo).gateway.metricsUrl).host]),
    );
    expect(series.some((s) => 'exported_instance' in s.metric)).to.equal(false);
  });

  it('promtool check metrics is clean for our families on every /metrics body', async () => {
    for (const url of (demo as Demo).metricsUrls) {
      const body = await (await fetch(url)).text();
      expect(body, url).to.include('mesh_');
      expect(promtoolProblems(body), url).to.deep.equal([]);
    }
  });

  it('promtool check rules and test rules pass on the shipped files', function () {
    if (!havePromtool()) this.skip();
    const check = spawnSync('promtool', ['check', 'rules', 'rules.yml', 'alerts.yml'], { cwd: SAMPLES, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    const test = spawnSync('promtool', ['test', 'rules', 'rules.test.yml', 'alerts.test.yml'], { cwd: SAMPLES, encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).to.equal(0);
  });
});
