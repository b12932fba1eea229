import { expect } from 'chai';
import { Registry } from './helpers/client.js';
import { LoadBalancerMetrics, ServiceMeshMetrics } from './helpers/internals.js';
import { sample, samplesOf } from './helpers/exposition.js';

describe('cardinality cap', () => {
  it('keeps 5,000 instances in exactly 2,000 series with exact totals', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, maxSeries: 2000 });
    for (let i = 0; i < 5000; i++) lb.recordRequest('users', `http://10.0.${i >> 8}.${i & 255}:80`, 'random');
    const text = await registry.metrics();
    const lines = samplesOf(text, 'mesh_lb_requests_total');
    expect(lines).to.have.length(2000);
    expect(lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)).to.equal(5000);
    expect(lines[1999]).to.equal(
      'mesh_lb_requests_total{service="__overflow__",instance="__overflow__",strategy="__overflow__"} 3001',
    );
    expect(await sample(registry, 'mesh_metrics_overflow_total{metric="mesh_lb_requests_total"}')).to.equal(3001);
    expect(lb.requestsTotal.seriesCount).to.equal(2000);
  });

  it('keeps updating existing series once the family is full', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, maxSeries: 3 });
    lb.recordRequest('s', 'a', 'random');
    lb.recordRequest('s', 'b', 'random');
    lb.recordRequest('s', 'c', 'random');
    lb.recordRequest('s', 'd', 'random');
    lb.recordRequest('s', 'a', 'random');
    lb.recordRequest('s', 'b', 'random');
    expect(samplesOf(await registry.metrics(), 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="s",instance="a",strategy="random"} 2',
      'mesh_lb_requests_total{service="s",instance="b",strategy="random"} 2',
      'mesh_lb_requests_total{service="__overflow__",instance="__overflow__",strategy="__overflow__"} 2',
    ]);
    expect(await sample(registry, 'mesh_metrics_overflow_total{metric="mesh_lb_requests_total"}')).to.equal(2);
  });

  it('caps each family on its own and keeps histogram totals exact', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, maxSeries: 10, buckets: [1] });
    for (let i = 0; i < 50; i++) mesh.recordCallSuccess('svc', `op${i}`, 0.5);
    const text = await registry.metrics();
    expect(samplesOf(text, 'mesh_calls_total')).to.have.length(10);
    expect(samplesOf(text, 'mesh_call_duration_seconds_count')).to.have.length(10);
    expect(await sample(registry, 'mesh_call_duration_seconds_count{service="__overflow__",operation="__overflow__"}')).to.equal(41);
    expect(await sample(registry, 'mesh_call_duration_seconds_bucket{service="__overflow__",operation="__overflow__",le="1"}')).to.equal(41);
    expect(await sample(registry, 'mesh_calls_total{service="__overflow__",operation="__overflow__",status="__overflow__",error_type="__overflow__"}')).to.equal(41);
    expect(await sample(registry, 'mesh_metrics_overflow_total{metric="mesh_calls_total"}')).to.equal(41);
    expect(await sample(registry, 'mesh_metrics_overflow_total{metric="mesh_call_duration_seconds"}')).to.equal(41);
  });

  it('counts values that only differ past the length cut as one series, not toward the cap', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, maxSeries: 5, maxLabelValueLength: 8 });
    for (let i = 0; i < 100; i++) lb.recordRequest('s', `instance-${'x'.repeat(200)}-${i}`, 'random');
    expect(samplesOf(await registry.metrics(), 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="s",instance="instance",strategy="random"} 100',
    ]);
  });

  it('forgets every series on registry.resetMetrics()', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, maxSeries: 2 });
    lb.recordRequest('s', 'a', 'random');
    lb.recordRequest('s', 'b', 'random');
    registry.resetMetrics();
    lb.recordRequest('s', 'c', 'random');
    expect(samplesOf(await registry.metrics(), 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="s",instance="c",strategy="random"} 1',
    ]);
  });
});

describe('removing a series', () => {
  it('takes one series out of the exposition and frees its place under the cap', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, maxSeries: 3 });
    lb.updateHealthScore('s', 'http://a:1', 0.5);
    lb.updateHealthScore('s', 'http://b:1', 0.25);
    expect(lb.instanceHealthScore.remove('s', 'http://a:1')).to.equal(true);
    expect(lb.instanceHealthScore.remove('s', 'http://a:1')).to.equal(false);
    lb.updateHealthScore('s', 'http://c:1', 1);
    lb.updateHealthScore('s', 'http://b:1', 0.75);
    expect(samplesOf(await registry.metrics(), 'mesh_lb_instance_health_score')).to.deep.equal([
      'mesh_lb_instance_health_score{service="s",instance="http://b:1"} 0.75',
      'mesh_lb_instance_health_score{service="s",instance="http://c:1"} 1',
    ]);
    // Two places are taken again (b and c), so a third label set goes to the overflow series.
    lb.updateHealthScore('s', 'http://a:1', 0.5);
    expect(await sample(registry, 'mesh_lb_instance_health_score{service="__overflow__",instance="__overflow__"}')).to.equal(0.5);
  });
});
