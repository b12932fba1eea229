import { expect } from 'chai';
import type { Worker } from 'node:cluster';
import { clusterPrimaryMetrics, type ClusterPrimaryMetrics } from '../lib/cluster-one-port.js';
import client, { CLIENT_NAME } from './helpers/client.js';
import { fork, getOnce, setupWorkers, stop, traffic } from './helpers/cluster.js';
import { sampleIn } from './helpers/exposition.js';

const SERIES = 'service="users",method="GET",route="/users/:id",status_code="200"';
const COUNT = `mesh_http_server_request_duration_seconds_count{${SERIES}}`;

describe('node:cluster with one public port: the workers answer scrapes with the aggregate, via the primary', function () {
  this.timeout(30_000);
  const workers: Worker[] = [];
  let port = 0;
  let primary: ClusterPrimaryMetrics | undefined;
  let sent = 0;

  before(async () => {
    setupWorkers();
    primary = clusterPrimaryMetrics();
    const forked = await Promise.all(
      ['0', '1', '2'].map((i) => fork({ MESH_WORKER_INDEX: i, MESH_WORKER_SCRAPE: '1' })),
    );
    for (const f of forked) workers.push(f.worker);
    port = forked[0]!.port;
    expect(forked.map((f) => f.port), 'three workers share one port').to.deep.equal([port, port, port]);
  });

  after(async () => {
    primary?.dispose();
    await Promise.all(workers.map(stop));
  });

  it('every worker answers with the exact sum of all three, never its own numbers', async () => {
    await traffic(port, 600);
    sent += 600;
    const pids = new Set<unknown>();
    for (let i = 0; i < 9; i++) {
      const r = await getOnce(port, '/metrics');
      expect(r.status, r.text).to.equal(200);
      expect(r.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
      expect(sampleIn(r.text, COUNT), `scrape ${i + 1}`).to.equal(600);
      expect(sampleIn(r.text, `mesh_http_server_request_duration_seconds_bucket{${SERIES},le="+Inf"}`)).to.equal(600);
      pids.add(r.headers['x-worker-pid']);
    }
    expect(pids.size, 'the scrapes reached every worker').to.equal(3);
  });

  it('combines the gauges of all three workers as the aggregation table says', async () => {
    const { text } = await getOnce(port, '/metrics');
    const instance = 'service="users",instance="http://10.0.0.1:80"';
    expect(sampleIn(text, 'mesh_healthy_instances{service="users"}'), 'min of 3, 2, 2').to.equal(2);
    expect(sampleIn(text, 'mesh_circuit_breaker_state{service="users"}'), 'max').to.equal(1);
    expect(sampleIn(text, `mesh_lb_active_connections{${instance}}`), 'sum of 4, 1, 1').to.equal(6);
    expect(sampleIn(text, `mesh_lb_instance_health_score{${instance}}`), 'average of 1, 0.5, 0.5').to.equal(2 / 3);
  });

  it('never goes backwards over 20 scrapes in a row while traffic flows, and ends exact', async () => {
    let previous = sent;
    for (let i = 0; i < 20; i++) {
      const [, r] = await Promise.all([traffic(port, 30, 3), getOnce(port, '/metrics')]);
      sent += 30;
      expect(r.status, r.text).to.equal(200);
      const count = sampleIn(r.text, COUNT) ?? -1;
      expect(count, `scrape ${i + 1}`).to.be.at.least(previous).and.at.most(sent);
      previous = count;
    }
    expect(sampleIn((await getOnce(port, '/metrics')).text, COUNT)).to.equal(sent);
  });

  const primaryOwn = CLIENT_NAME === '@prometheus-io/client';
  it(`${primaryOwn ? 'adds' : 'leaves out'} the primary's own global register on ${CLIENT_NAME}`, async () => {
    const gauge = new client.Gauge({ name: 'mesh_test_primary_own', help: 'set on the primary' });
    try {
      gauge.set(7);
      const { text } = await getOnce(port, '/metrics');
      expect(sampleIn(text, 'mesh_test_primary_own')).to.equal(primaryOwn ? 7 : undefined);
      expect(sampleIn(text, COUNT)).to.equal(sent);
    } finally {
      client.register.removeSingleMetric('mesh_test_primary_own');
    }
  });

  it('answers 503 naming the primary when the primary does not answer, and recovers once it does', async () => {
    primary?.dispose();
    primary = undefined;
    const r = await getOnce(port, '/metrics');
    expect(r.status).to.equal(503);
    expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(r.text).to.equal(
      'mesh-metrics: the cluster primary did not answer within 3250 ms (does it call clusterPrimaryMetrics()?)\n',
    );
    primary = clusterPrimaryMetrics();
    const again = await getOnce(port, '/metrics');
    expect(again.status).to.equal(200);
    expect(sampleIn(again.text, COUNT)).to.equal(sent);
  });

  it('clusterPrimaryMetrics() is idempotent while it serves', () => {
    expect(clusterPrimaryMetrics()).to.equal(primary);
  });
});
