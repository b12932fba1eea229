import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from '../helpers/client.js';
import { serveMetrics, ServiceMeshMetrics, type MetricsServer } from 'mesh-metrics';
import { HttpServerMetrics, resolveMetricsOptions } from '../helpers/internals.js';
import { freePort, havePrometheus, PrometheusServer } from './prometheus-server.js';

const REQUIRED = process.env.MESH_E2E_REQUIRED === '1';
const SCHEMA = 3;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** The widest relative error of a quantile estimated inside one bucket at this schema: base - 1. */
const BUCKET_ERROR = 2 ** (2 ** -SCHEMA) - 1;

/** 1,000 known durations from 1 ms to about 21 s, each 1% above the one before. */
const OBSERVATIONS = Array.from({ length: 1000 }, (_, k) => 0.001 * 1.01 ** k);

function config(target: string): string {
  return `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ['${target}']
`;
}

/** The PromQL block of the README's native-histograms section, one expression per entry. */
function readmeQueries(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('<!-- section:native-histograms -->'), readme.indexOf('<!-- /section:native-histograms -->'));
  const block = /```promql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const queries: string[] = [];
  for (const line of block.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (line.startsWith('  ') && queries.length > 0) queries[queries.length - 1] += ` ${line.trim()}`;
    else queries.push(line.trim());
  }
  return queries;
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no data for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The single value of an instant query, once it has one. */
function scalar(prometheus: PrometheusServer, expr: string): Promise<number> {
  return until(expr, async () => {
    const result = await prometheus.query(expr);
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  });
}

describe('e2e: native histograms scraped by a real Prometheus 2.42', function () {
  this.timeout(90_000);
  let app: MetricsServer | undefined;
  let native: PrometheusServer | undefined;
  let classic: PrometheusServer | undefined;
  let dir = '';

  before(async function () {
    if (!havePrometheus()) {
      if (REQUIRED) throw new Error('prometheus is not installed (Debian package "prometheus") and MESH_E2E_REQUIRED=1');
      console.log('    SKIP e2e: the prometheus binary is not installed (apt-get install prometheus); npm run test:e2e fails instead');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'mesh-native-'));
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { schema: SCHEMA } });
    for (const seconds of OBSERVATIONS) mesh.recordCallSuccess('users', 'get_user', seconds);
    mesh.recordCallSuccess('users', 'traced', 0.42, TRACE_ID);
    // A native series without observations yet: Prometheus 2.42 knows it is native by its zero threshold (> 0 by
    // default); later versions also by the no-op span the kit adds, which 2.42 does not look at.
    new ServiceMeshMetrics({ registry, prefix: 'idle_', nativeHistograms: { schema: SCHEMA } }).callDurationSeconds.labels(
      'users',
      'idle',
    );
    const inbound = new HttpServerMetrics(resolveMetricsOptions({ registry, nativeHistograms: { schema: SCHEMA } }));
    for (const seconds of [0.01, 0.2, 0.3]) inbound.requestDuration.labels('checkout', 'GET', '/users/:id', 200).observe(seconds);
    // The application's own prom-client metrics in the same registry.
    new Counter({ name: 'app_jobs_total', help: 'Jobs run.', registers: [registry] }).inc(7);
    const appHistogram = new Histogram({ name: 'app_job_seconds', help: 'Job time.', buckets: [1, 5], registers: [registry] });
    appHistogram.observe(0.5);
    appHistogram.observe(2);
    app = serveMetrics({ registry, port: 0, host: '127.0.0.1' });
    const { host, port } = await app.listening;
    writeFileSync(join(dir, 'prometheus.yml'), config(`${host}:${port}`));
    native = new PrometheusServer(join(dir, 'prometheus.yml'), join(dir, 'native'), await freePort(), [
      '--enable-feature=native-histograms',
      '--enable-feature=exemplar-storage',
    ]);
    classic = new PrometheusServer(join(dir, 'prometheus.yml'), join(dir, 'classic'), await freePort());
    await Promise.all([native.start(), classic.start()]);
  });

  after(async () => {
    await Promise.all([native?.stop(), classic?.stop()]);
    await app?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('with --enable-feature=native-histograms: histogram_count, histogram_sum and the p99 match the observations', async () => {
    const selector = 'mesh_call_duration_seconds{service="users",operation="get_user"}';
    expect(await scalar(native!, `histogram_count(${selector})`)).to.equal(OBSERVATIONS.length);
    const sum = OBSERVATIONS.reduce((a, b) => a + b, 0);
    expect(await scalar(native!, `histogram_sum(${selector})`)).to.be.closeTo(sum, sum * 1e-12);
    // Prometheus' rank for q = 0.99 of 1,000 observations is the 990th.
    const trueP99 = [...OBSERVATIONS].sort((a, b) => a - b)[989]!;
    const p99 = await scalar(native!, `histogram_quantile(0.99, ${selector})`);
    expect(Math.abs(p99 / trueP99 - 1)).to.be.at.most(BUCKET_ERROR);
    // A native histogram is one series: no classic _bucket series were ingested from the protobuf scrape.
    expect(await native!.query('mesh_call_duration_seconds_bucket')).to.deep.equal([]);
  });

  it('a native series without observations yet is read as native, with a count of 0', async () => {
    expect(await scalar(native!, 'histogram_count(idle_call_duration_seconds{operation="idle"})')).to.equal(0);
    expect(await native!.query('idle_call_duration_seconds_count')).to.deep.equal([]);
  });

  it('every PromQL expression of the README\'s native-histograms section runs and returns data', async () => {
    const queries = readmeQueries();
    expect(queries).to.have.length(4);
    for (const expr of queries) {
      const result = await until(expr, async () => {
        const r = await native!.query(expr);
        return r.length > 0 ? r : undefined;
      });
      expect(result.length, expr).to.be.at.least(1);
    }
  });

  it('stores the exemplar of a native series (carried on its classic bucket) and returns it from query_exemplars', async () => {
    type ExemplarData = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];
    const query = encodeURIComponent('mesh_call_duration_seconds{operation="traced"}');
    const end = Math.ceil(Date.now() / 1000) + 60;
    const found = await until('an exemplar carrying the trace id', async () => {
      const data = await native!.api<ExemplarData>(`query_exemplars?query=${query}&start=${end - 600}&end=${end}`);
      return data.find((d) => d.exemplars.some((e) => e.labels['trace_id'] === TRACE_ID));
    });
    expect(found.seriesLabels['__name__']).to.equal('mesh_call_duration_seconds');
    const exemplar = found.exemplars.find((e) => e.labels['trace_id'] === TRACE_ID)!;
    expect([exemplar.labels, Number(exemplar.value)]).to.deep.equal([{ trace_id: TRACE_ID }, 0.42]);
  });

  it('with native histograms on, the application\'s own prom-client metrics arrive over protobuf too', async () => {
    expect(await scalar(native!, 'app_jobs_total')).to.equal(7);
    // Prometheus 2.x writes `le` of a protobuf scrape OpenMetrics-style: "1.0", where text gives "1".
    expect(await scalar(native!, 'app_job_seconds_bucket{le="1.0"}')).to.equal(1);
    expect(await scalar(native!, 'app_job_seconds_bucket{le="+Inf"}')).to.equal(2);
    expect(await scalar(native!, 'app_job_seconds_count')).to.equal(2);
  });

  it('without the flag, Prometheus scrapes text and still sees the classic buckets', async () => {
    const selector = '{service="users",operation="get_user"}';
    expect(await scalar(classic!, `mesh_call_duration_seconds_count${selector}`)).to.equal(OBSERVATIONS.length);
    expect(await scalar(classic!, `mesh_call_duration_seconds_bucket{le="+Inf",service="users",operation="get_user"}`)).to.equal(
      OBSERVATIONS.length,
    );
    const below100ms = OBSERVATIONS.filter((v) => v <= 0.1).length;
    expect(await scalar(classic!, `mesh_call_duration_seconds_bucket{le="0.1",service="users",operation="get_user"}`)).to.equal(below100ms);
    const series = await until('15 classic buckets', async () => {
      const r = await classic!.query(`count(mesh_call_duration_seconds_bucket${selector})`);
      return r.length === 1 && r[0]!.value[1] === '15' ? 15 : undefined;
    });
    expect(series).to.equal(15);
    expect(await classic!.query(`histogram_count(mesh_call_duration_seconds${selector})`)).to.deep.equal([]);
  });
});
