import { expect } from 'chai';
import { Registry } from './helpers/client.js';
import { createBalancer, type Balancer } from '../lib/balancer.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { sample, sampleIn, samplesOf } from './helpers/exposition.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';

/** One attempt on the next instance, with a head after 5 ms and a 10-byte response. */
function attempt(balancer: Balancer, ok = true): void {
  const a = balancer.start();
  if (a === undefined) throw new Error('no instance');
  a.firstByte?.(0.005);
  a.bodySizes?.(0, 10);
  if (ok) a.succeed();
  else a.fail(503);
}

function balancer(registry: Registry, maxSeries?: number): Balancer {
  let t = 0;
  return createBalancer({
    service: 'users',
    instances: [A, B],
    strategy: 'round_robin',
    registry,
    now: () => (t += 10), // every reading 10 ms after the last: each attempt lasts 10 ms
    ...(maxSeries === undefined ? {} : { maxSeries }),
  });
}

/**
 * A balancer instance keeps its series between attempts, and a metric set keeps the series of successful calls by
 * operation (no label lookup per attempt or call): what they keep must never outlive the families' own series nor
 * hide an overflow.
 */
describe('series kept between attempts and calls', () => {
  it('a balancer records into fresh series of every per-instance family after registry.resetMetrics()', async () => {
    const registry = new Registry();
    const b = balancer(registry);
    for (let i = 0; i < 4; i++) attempt(b);
    expect(await sample(registry, `mesh_lb_requests_total{service="users",instance="${A}",strategy="round_robin"}`)).to.equal(2);
    registry.resetMetrics();
    attempt(b); // A
    attempt(b, false); // B
    attempt(b); // A
    const text = await registry.metrics();
    expect(samplesOf(text, 'mesh_lb_requests_total')).to.deep.equal([
      `mesh_lb_requests_total{service="users",instance="${A}",strategy="round_robin"} 2`,
      `mesh_lb_requests_total{service="users",instance="${B}",strategy="round_robin"} 1`,
    ]);
    expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([
      `mesh_lb_active_connections{service="users",instance="${A}"} 0`,
      `mesh_lb_active_connections{service="users",instance="${B}"} 0`,
    ]);
    // B's health score after its failure: the series came back with the score the instance has
    const score = b.instances().find((i) => i.origin === B)?.healthScore as number;
    expect(score).to.be.below(1);
    expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([
      `mesh_lb_instance_health_score{service="users",instance="${A}"} 1`,
      `mesh_lb_instance_health_score{service="users",instance="${B}"} ${score}`,
    ]);
    for (const family of ['mesh_lb_request_duration_seconds', 'mesh_lb_response_first_byte_seconds', 'mesh_lb_response_body_size_bytes']) {
      expect(samplesOf(text, `${family}_count`), family).to.deep.equal([
        `${family}_count{service="users",instance="${A}"} 2`,
        `${family}_count{service="users",instance="${B}"} 1`,
      ]);
    }
    expect(samplesOf(text, 'mesh_lb_request_duration_seconds_sum')).to.deep.equal([
      `mesh_lb_request_duration_seconds_sum{service="users",instance="${A}"} 0.02`,
      `mesh_lb_request_duration_seconds_sum{service="users",instance="${B}"} 0.01`,
    ]);
    expect(samplesOf(text, 'mesh_lb_request_body_size_bytes_sum')).to.deep.equal([
      `mesh_lb_request_body_size_bytes_sum{service="users",instance="${A}"} 0`,
      `mesh_lb_request_body_size_bytes_sum{service="users",instance="${B}"} 0`,
    ]);
  });

  it('a balancer records into a new series after that series was removed from its family', async () => {
    const registry = new Registry();
    const b = balancer(registry);
    attempt(b);
    attempt(b);
    const family = registry.getSingleMetric('mesh_lb_request_duration_seconds') as unknown as {
      remove(labels: Record<string, string>): boolean;
    };
    expect(family.remove({ service: 'users', instance: A })).to.equal(true);
    attempt(b); // A
    expect(await sample(registry, `mesh_lb_request_duration_seconds_count{service="users",instance="${A}"}`)).to.equal(1);
    expect(await sample(registry, `mesh_lb_request_duration_seconds_count{service="users",instance="${B}"}`)).to.equal(1);
    expect(await sample(registry, `mesh_lb_requests_total{service="users",instance="${A}",strategy="round_robin"}`)).to.equal(2);
  });

  it('an instance deregistered and registered again gets its gauges back, and an old attempt does not write them', async () => {
    const registry = new Registry();
    const b = balancer(registry);
    attempt(b); // A
    const late = b.start(); // B, in flight across the deregistration
    expect(b.deregister(B)).to.equal(true);
    late?.succeed();
    expect(samplesOf(await registry.metrics(), 'mesh_lb_active_connections')).to.deep.equal([
      `mesh_lb_active_connections{service="users",instance="${A}"} 0`,
    ]);
    expect(b.register(B)).to.equal(true);
    const again = b.start(); // A
    const onB = b.start(); // B
    expect(onB?.instance.origin).to.equal(B);
    const text = await registry.metrics();
    expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([
      `mesh_lb_active_connections{service="users",instance="${A}"} 1`,
      `mesh_lb_active_connections{service="users",instance="${B}"} 1`,
    ]);
    // the attempt that ended after B left still counted its duration (B's duration series is not a gauge)
    expect(sampleIn(text, `mesh_lb_request_duration_seconds_count{service="users",instance="${B}"}`)).to.equal(1);
    again?.succeed();
    onB?.succeed();
  });

  it('counts every attempt that overflows a full family, the repeated ones too', async () => {
    const registry = new Registry();
    const b = balancer(registry, 2); // one series and the overflow series per family
    for (let i = 0; i < 6; i++) attempt(b); // A, B, A, B, A, B
    const text = await registry.metrics();
    expect(samplesOf(text, 'mesh_lb_requests_total')).to.deep.equal([
      `mesh_lb_requests_total{service="users",instance="${A}",strategy="round_robin"} 3`,
      'mesh_lb_requests_total{service="__overflow__",instance="__overflow__",strategy="__overflow__"} 3',
    ]);
    expect(samplesOf(text, 'mesh_lb_response_first_byte_seconds_count')).to.deep.equal([
      `mesh_lb_response_first_byte_seconds_count{service="users",instance="${A}"} 3`,
      'mesh_lb_response_first_byte_seconds_count{service="__overflow__",instance="__overflow__"} 3',
    ]);
    // the overflow counter has the same cap: the first family to overflow (B's health score at its registration and
    // after each of its 3 attempts), then every other overflow: per attempt on B the request, the in-flight gauge
    // twice, the duration, first byte and both sizes (3 x 7), B's in-flight gauge and its ejection gauge at registration
    expect(samplesOf(text, 'mesh_metrics_overflow_total')).to.deep.equal([
      'mesh_metrics_overflow_total{metric="mesh_lb_instance_health_score"} 4',
      'mesh_metrics_overflow_total{metric="__overflow__"} 23',
    ]);
  });
});

describe('series of successful calls kept by service and operation', () => {
  it('records exactly with alternating operations, after a reset and after a removal', async () => {
    const registry = new Registry();
    const m = new ServiceMeshMetrics({ registry });
    for (let i = 0; i < 6; i++) m.recordCallSuccess('users', i % 2 === 0 ? 'get_user' : 'list_users', 0.5);
    m.recordCallFailure('users', 'get_user', 503, 0.25);
    let text = await registry.metrics();
    expect(samplesOf(text, 'mesh_calls_total')).to.deep.equal([
      'mesh_calls_total{service="users",operation="get_user",status="success"} 3',
      'mesh_calls_total{service="users",operation="list_users",status="success"} 3',
      'mesh_calls_total{service="users",operation="get_user",status="failure",error_type="http_5xx"} 1',
    ]);
    expect(sampleIn(text, 'mesh_call_duration_seconds_sum{service="users",operation="get_user"}')).to.equal(1.75);
    registry.resetMetrics();
    m.recordCallSuccess('users', 'get_user', 0.5);
    m.callsTotal.remove('users', 'list_users', 'success', '');
    m.recordCallSuccess('users', 'list_users', 0.5);
    m.recordCallSuccess('orders', 'get_user', 0.5); // another service: its own series
    text = await registry.metrics();
    expect(samplesOf(text, 'mesh_calls_total')).to.deep.equal([
      'mesh_calls_total{service="users",operation="get_user",status="success"} 1',
      'mesh_calls_total{service="users",operation="list_users",status="success"} 1',
      'mesh_calls_total{service="orders",operation="get_user",status="success"} 1',
    ]);
    expect(samplesOf(text, 'mesh_call_duration_seconds_count')).to.deep.equal([
      'mesh_call_duration_seconds_count{service="users",operation="get_user"} 1',
      'mesh_call_duration_seconds_count{service="users",operation="list_users"} 1',
      'mesh_call_duration_seconds_count{service="orders",operation="get_user"} 1',
    ]);
  });

  it('records exactly for alternating services, beyond the services and operations it keeps', async () => {
    const registry = new Registry();
    const m = new ServiceMeshMetrics({ registry });
    // 70 services (64 are kept) with 2 operations each, and one service with 300 operations (256 are kept), twice over
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 70; i++) for (const op of ['get', 'list']) m.recordCallSuccess(`svc${i}`, op, 0.25);
      for (let i = 0; i < 300; i++) m.recordCallSuccess('wide', `op${i}`, 0.25);
    }
    const text = await registry.metrics();
    const calls = samplesOf(text, 'mesh_calls_total');
    expect(calls).to.have.length(70 * 2 + 300);
    expect(calls.every((line) => line.endsWith('"} 2'))).to.equal(true);
    expect(sampleIn(text, 'mesh_calls_total{service="svc69",operation="list",status="success"}')).to.equal(2);
    expect(sampleIn(text, 'mesh_calls_total{service="wide",operation="op299",status="success"}')).to.equal(2);
    expect(sampleIn(text, 'mesh_call_duration_seconds_sum{service="svc69",operation="list"}')).to.equal(0.5);
    expect(sampleIn(text, 'mesh_call_duration_seconds_count{service="wide",operation="op299"}')).to.equal(2);
  });

  it('takes values that are not strings through the family lookup, as before', async () => {
    const registry = new Registry();
    const m = new ServiceMeshMetrics({ registry });
    m.recordCallSuccess('users', 42 as unknown as string, 1);
    m.recordCallSuccess('users', '42', 1);
    expect(await sample(registry, 'mesh_calls_total{service="users",operation="42",status="success"}')).to.equal(2);
  });

  it('counts every call that overflows, the repeated ones too', async () => {
    const registry = new Registry();
    const m = new ServiceMeshMetrics({ registry, maxSeries: 2 });
    for (let i = 0; i < 3; i++) m.recordCallSuccess('users', 'get_user', 1);
    for (let i = 0; i < 4; i++) m.recordCallSuccess('users', 'list_users', 1);
    const text = await registry.metrics();
    expect(samplesOf(text, 'mesh_calls_total')).to.deep.equal([
      'mesh_calls_total{service="users",operation="get_user",status="success"} 3',
      'mesh_calls_total{service="__overflow__",operation="__overflow__",status="__overflow__",error_type="__overflow__"} 4',
    ]);
    expect(samplesOf(text, 'mesh_metrics_overflow_total')[0]).to.equal('mesh_metrics_overflow_total{metric="mesh_calls_total"} 4');
  });
});
