import { expect } from 'chai';
import { Registry, type Counter, type Gauge, type Histogram } from './helpers/client.js';
import { LoadBalancerMetrics, RetryMetrics, ServiceMeshMetrics } from '../index.js';
import { sampleIn } from './helpers/exposition.js';

// The family objects of the metric sets answer the calls a prom-client user makes, with the same shapes, so code
// written against prom-client's Counter / Gauge / Histogram types for those calls type-checks with them. get()
// is the exception the README names: it returns the values at once (awaiting it works as with prom-client).
type CounterCalls<L extends string> = Pick<Counter<L>, 'inc' | 'labels' | 'reset' | 'remove'>;
type GaugeCalls<L extends string> = Pick<Gauge<L>, 'set' | 'inc' | 'dec' | 'labels' | 'reset' | 'remove' | 'startTimer' | 'setToCurrentTime'>;
type HistogramCalls<L extends string> = Pick<Histogram<L>, 'observe' | 'labels' | 'reset' | 'remove' | 'startTimer'>;

/** Written against prom-client's types; given the kit's families below. */
function useCounter(c: CounterCalls<'service' | 'instance' | 'strategy'>): void {
  c.inc({ service: 'users', instance: 'http://10.0.0.7:8080', strategy: 'round_robin' }, 2);
  c.labels('users', 'http://10.0.0.7:8080', 'round_robin').inc();
  c.labels({ service: 'users', instance: 'http://10.0.0.8:8080', strategy: 'round_robin' }).inc(4);
  c.inc({ value: 1, labels: { service: 'users', instance: 'http://10.0.0.8:8080', strategy: 'round_robin' } });
}

describe('family objects: the prom-client calls', () => {
  it('counter: inc(labels, n), labels(...values).inc(), labels({...}).inc(n), remove(labels), reset()', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry });
    useCounter(lb.requestsTotal);
    let text = await registry.metrics();
    expect(sampleIn(text, 'mesh_lb_requests_total{service="users",instance="http://10.0.0.7:8080",strategy="round_robin"}')).to.equal(3);
    expect(sampleIn(text, 'mesh_lb_requests_total{service="users",instance="http://10.0.0.8:8080",strategy="round_robin"}')).to.equal(5);
    expect(lb.requestsTotal.remove({ service: 'users', instance: 'http://10.0.0.8:8080', strategy: 'round_robin' })).to.equal(true);
    text = await registry.metrics();
    expect(sampleIn(text, 'mesh_lb_requests_total{service="users",instance="http://10.0.0.8:8080",strategy="round_robin"}')).to.equal(undefined);
    expect(sampleIn(text, 'mesh_lb_requests_total{service="users",instance="http://10.0.0.7:8080",strategy="round_robin"}')).to.equal(3);
    lb.requestsTotal.reset();
    expect((await lb.requestsTotal.get()).values).to.deep.equal([]);
  });

  it('counter: a negative or NaN amount is dropped and counted, never thrown', async () => {
    const registry = new Registry();
    const retries = new RetryMetrics({ registry });
    retries.retrySuccessTotal.inc({ service: 'users', operation: 'get_user' }, -1);
    retries.retrySuccessTotal.inc({ service: 'users', operation: 'get_user' }, Number.NaN);
    retries.retrySuccessTotal.inc({ service: 'users', operation: 'get_user' });
    const text = await registry.metrics();
    expect(sampleIn(text, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="invalid_value"}')).to.equal(2);
  });

  it('gauge: set(labels, v), inc/dec(labels, n), labels(...).set(v), startTimer(labels), setToCurrentTime(labels)', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry });
    const g: GaugeCalls<'service' | 'instance'> = lb.activeConnections;
    g.set({ service: 'users', instance: 'http://a:1' }, 4);
    g.inc({ service: 'users', instance: 'http://a:1' }, 3);
    g.dec({ service: 'users', instance: 'http://a:1' });
    g.labels('users', 'http://b:1').set(9);
    const end = g.startTimer({ service: 'users' });
    const seconds = end({ instance: 'http://c:1' });
    g.setToCurrentTime({ service: 'users', instance: 'http://d:1' });
    const text = await registry.metrics();
    expect(sampleIn(text, 'mesh_lb_active_connections{service="users",instance="http://a:1"}')).to.equal(6);
    expect(sampleIn(text, 'mesh_lb_active_connections{service="users",instance="http://b:1"}')).to.equal(9);
    expect(sampleIn(text, 'mesh_lb_active_connections{service="users",instance="http://c:1"}')).to.equal(seconds);
    const now = sampleIn(text, 'mesh_lb_active_connections{service="users",instance="http://d:1"}') as number;
    expect(Math.abs(now - Date.now() / 1000)).to.be.lessThan(60);
  });

  it('histogram: observe(labels, v), labels(...).observe(v), startTimer(labels) and its end labels, remove, reset', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, buckets: [0.1, 1] });
    const h: HistogramCalls<'service' | 'operation'> = mesh.callDurationSeconds;
    h.observe({ service: 'users', operation: 'get_user' }, 0.05);
    h.labels('users', 'get_user').observe(0.5);
    const end = h.startTimer({ service: 'users' });
    const seconds = end({ operation: 'list_users' });
    let text = await registry.metrics();
    expect(sampleIn(text, 'mesh_call_duration_seconds_bucket{service="users",operation="get_user",le="0.1"}')).to.equal(1);
    expect(sampleIn(text, 'mesh_call_duration_seconds_count{service="users",operation="get_user"}')).to.equal(2);
    expect(sampleIn(text, 'mesh_call_duration_seconds_sum{service="users",operation="get_user"}')).to.equal(0.55);
    expect(sampleIn(text, 'mesh_call_duration_seconds_sum{service="users",operation="list_users"}')).to.equal(seconds);
    h.observe({ value: 0.2, labels: { service: 'users', operation: 'get_user' } });
    h.remove('users', 'list_users');
    text = await registry.metrics();
    expect(sampleIn(text, 'mesh_call_duration_seconds_count{service="users",operation="list_users"}')).to.equal(undefined);
    expect(sampleIn(text, 'mesh_call_duration_seconds_count{service="users",operation="get_user"}')).to.equal(3);
    h.reset();
    expect(await registry.metrics()).not.to.contain('mesh_call_duration_seconds_count{');
  });

  it('labels by name and in order give the same series; a value that is not a plain object stays a positional value', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry });
    expect(mesh.healthyInstances.labels({ service: 'users' })).to.equal(mesh.healthyInstances.labels('users'));
    expect(mesh.healthyInstances.labels(['users'])).to.equal(mesh.healthyInstances.labels('users')); // an array is a value
    mesh.healthyInstances.labels({ service: 'users' }).set(2);
    mesh.healthyInstances.set({ service: 'orders' }, 1);
    const text = await registry.metrics();
    expect(sampleIn(text, 'mesh_healthy_instances{service="users"}')).to.equal(2);
    expect(sampleIn(text, 'mesh_healthy_instances{service="orders"}')).to.equal(1);
  });
});
