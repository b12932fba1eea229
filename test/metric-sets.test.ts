import { expect } from 'chai';
import promClient, { Registry } from './helpers/client.js';
import { LoadBalancerMetrics, RetryMetrics, ServiceMeshMetrics } from './helpers/internals.js';
import { sample, samplesOf } from './helpers/exposition.js';

describe('seed metric sets', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  describe('LoadBalancerMetrics', () => {
    it('records requests, errors, durations, connections and health scores', async () => {
      const lb = new LoadBalancerMetrics({ registry, buckets: [0.1, 1] });
      lb.recordRequest('users', 'http://10.0.0.1:8080', 'round_robin');
      lb.recordRequest('users', 'http://10.0.0.1:8080', 'round_robin');
      lb.recordRequest('users', 'http://10.0.0.2:8080', 'round_robin');
      lb.recordError('users', 'timeout');
      lb.recordError('users', Object.assign(new Error('boom'), { code: 'ECONNREFUSED' }));
      lb.recordError('users', 503);
      lb.observeRequestDuration('users', 'http://10.0.0.1:8080', 0.05);
      lb.observeRequestDuration('users', 'http://10.0.0.1:8080', 0.5);
      lb.observeRequestDuration('users', 'http://10.0.0.1:8080', 3);
      lb.updateActiveConnections('users', 'http://10.0.0.1:8080', 4);
      lb.updateHealthScore('users', 'http://10.0.0.1:8080', 0.75);
      lb.updateHealthScore('users', 'http://10.0.0.2:8080', 7);
      const text = await registry.metrics();
      const i1 = 'service="users",instance="http://10.0.0.1:8080"';
      expect(samplesOf(text, 'mesh_lb_requests_total')).to.deep.equal([
        'mesh_lb_requests_total{service="users",instance="http://10.0.0.1:8080",strategy="round_robin"} 2',
        'mesh_lb_requests_total{service="users",instance="http://10.0.0.2:8080",strategy="round_robin"} 1',
      ]);
      expect(samplesOf(text, 'mesh_lb_errors_total')).to.deep.equal([
        'mesh_lb_errors_total{service="users",error_type="timeout"} 1',
        'mesh_lb_errors_total{service="users",error_type="connection_refused"} 1',
        'mesh_lb_errors_total{service="users",error_type="http_5xx"} 1',
      ]);
      expect(samplesOf(text, 'mesh_lb_request_duration_seconds_bucket')).to.deep.equal([
        `mesh_lb_request_duration_seconds_bucket{${i1},le="0.1"} 1`,
        `mesh_lb_request_duration_seconds_bucket{${i1},le="1"} 2`,
        `mesh_lb_request_duration_seconds_bucket{${i1},le="+Inf"} 3`,
      ]);
      expect(samplesOf(text, 'mesh_lb_request_duration_seconds_sum')).to.deep.equal([`mesh_lb_request_duration_seconds_sum{${i1}} 3.55`]);
      expect(samplesOf(text, 'mesh_lb_request_duration_seconds_count')).to.deep.equal([`mesh_lb_request_duration_seconds_count{${i1}} 3`]);
      expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([`mesh_lb_active_connections{${i1}} 4`]);
      expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([
        `mesh_lb_instance_health_score{${i1}} 0.75`,
        'mesh_lb_instance_health_score{service="users",instance="http://10.0.0.2:8080"} 1',
      ]);
    });

    it('exposes the families as fields with the documented types', () => {
      const lb = new LoadBalancerMetrics({ registry });
      expect([lb.requestsTotal, lb.errorsTotal, lb.requestDurationSeconds, lb.activeConnections, lb.instanceHealthScore].map((f) => [f.name, f.type, f.labelNames.join(',')])).to.deep.equal([
        ['mesh_lb_requests_total', 'counter', 'service,instance,strategy'],
        ['mesh_lb_errors_total', 'counter', 'service,error_type'],
        ['mesh_lb_request_duration_seconds', 'histogram', 'service,instance'],
        ['mesh_lb_active_connections', 'gauge', 'service,instance'],
        ['mesh_lb_instance_health_score', 'gauge', 'service,instance'],
      ]);
    });
  });

  describe('RetryMetrics', () => {
    it('records attempts by retry number, successes, failures and durations', async () => {
      const retry = new RetryMetrics({ registry, buckets: [1] });
      retry.recordAttempt('users', 'get_user', 1);
      retry.recordAttempt('users', 'get_user', 2);
      retry.recordAttempt('users', 'get_user', 1);
      retry.recordSuccess('users', 'get_user', 2, 0.25);
      retry.recordFailure('users', 'get_user', 3, Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 1.5);
      retry.recordFailure('users', 'get_user', 3, 'http_5xx');
      const text = await registry.metrics();
      expect(samplesOf(text, 'mesh_retry_attempts_total')).to.deep.equal([
        'mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"} 2',
        'mesh_retry_attempts_total{service="users",operation="get_user",attempt="2"} 1',
      ]);
      expect(samplesOf(text, 'mesh_retry_success_total')).to.deep.equal(['mesh_retry_success_total{service="users",operation="get_user"} 1']);
      expect(samplesOf(text, 'mesh_retry_failure_total')).to.deep.equal([
        'mesh_retry_failure_total{service="users",operation="get_user",error_type="timeout"} 1',
        'mesh_retry_failure_total{service="users",operation="get_user",error_type="http_5xx"} 1',
      ]);
      expect(samplesOf(text, 'mesh_retry_duration_seconds_count')).to.deep.equal([
        'mesh_retry_duration_seconds_count{service="users",operation="get_user",status="success"} 1',
        'mesh_retry_duration_seconds_count{service="users",operation="get_user",status="failure"} 1',
      ]);
      expect(await sample(registry, 'mesh_retry_duration_seconds_sum{service="users",operation="get_user",status="failure"}')).to.equal(1.5);
    });

    it('drops attempt numbers that are not positive integers', async () => {
      const retry = new RetryMetrics({ registry });
      retry.recordAttempt('users', 'op', 0);
      retry.recordAttempt('users', 'op', 1.5);
      retry.recordAttempt('users', 'op', NaN);
      expect(samplesOf(await registry.metrics(), 'mesh_retry_attempts_total')).to.deep.equal([]);
      expect(await sample(registry, 'mesh_metrics_errors_total{kind="invalid_value"}')).to.equal(3);
    });
  });

  describe('ServiceMeshMetrics', () => {
    it('records registrations, calls, healthy instances and circuit state', async () => {
      const mesh = new ServiceMeshMetrics({ registry, buckets: [0.1] });
      mesh.recordRegistration('users');
      mesh.recordRegistration('users');
      mesh.recordRegistrationFailure('users', 'invalid_url');
      mesh.recordRegistrationFailure('users', 'duplicate');
      mesh.recordCallSuccess('users', 'get_user', 0.05);
      mesh.recordCallSuccess('users', 'get_user', 0.2);
      mesh.recordCallSuccess('users', 'get_user', 0.01);
      mesh.recordCallFailure('users', 'get_user', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 0.3);
      mesh.recordCallFailure('users', 'get_user', 'circuit_open');
      mesh.updateHealthyInstances('users', 2);
      mesh.updateCircuitBreakerState('users', 'half_open');
      mesh.updateCircuitBreakerState('orders', 1);
      const text = await registry.metrics();
      expect(samplesOf(text, 'mesh_registrations_total')).to.deep.equal(['mesh_registrations_total{service="users"} 2']);
      expect(samplesOf(text, 'mesh_registration_failures_total')).to.deep.equal([
        'mesh_registration_failures_total{service="users",error_type="invalid_url"} 1',
        'mesh_registration_failures_total{service="users",error_type="duplicate"} 1',
      ]);
      expect(samplesOf(text, 'mesh_calls_total')).to.deep.equal([
        'mesh_calls_total{service="users",operation="get_user",status="success"} 3',
        'mesh_calls_total{service="users",operation="get_user",status="failure",error_type="connection_reset"} 1',
        'mesh_calls_total{service="users",operation="get_user",status="failure",error_type="circuit_open"} 1',
      ]);
      expect(samplesOf(text, 'mesh_call_duration_seconds_bucket')).to.deep.equal([
        'mesh_call_duration_seconds_bucket{service="users",operation="get_user",le="0.1"} 2',
        'mesh_call_duration_seconds_bucket{service="users",operation="get_user",le="+Inf"} 4',
      ]);
      expect(samplesOf(text, 'mesh_healthy_instances')).to.deep.equal(['mesh_healthy_instances{service="users"} 2']);
      expect(samplesOf(text, 'mesh_circuit_breaker_state')).to.deep.equal([
        'mesh_circuit_breaker_state{service="users"} 2',
        'mesh_circuit_breaker_state{service="orders"} 1',
      ]);
    });

    it('accepts every circuit state name and number, and drops anything else', async () => {
      const mesh = new ServiceMeshMetrics({ registry });
      const seen: number[] = [];
      for (const state of ['closed', 'open', 'half_open', 'isolated', 0, 1, 2, 3, 'HALF_OPEN', 'half-open']) {
        mesh.updateCircuitBreakerState('s', state);
        seen.push((await sample(registry, 'mesh_circuit_breaker_state{service="s"}')) as number);
      }
      expect(seen).to.deep.equal([0, 1, 2, 3, 0, 1, 2, 3, 2, 2]);
      mesh.updateCircuitBreakerState('s', 'ajar');
      mesh.updateCircuitBreakerState('s', 4);
      expect(await sample(registry, 'mesh_circuit_breaker_state{service="s"}')).to.equal(2);
      expect(await sample(registry, 'mesh_metrics_errors_total{kind="invalid_value"}')).to.equal(2);
    });
  });

  it('runs the original design example with exact results', async () => {
    // The seed's example: a balancer spreads three requests over two instances, one attempt fails and is
    // retried, and the call succeeds; the circuit stays closed and both instances are healthy.
    const lb = new LoadBalancerMetrics({ registry });
    const retry = new RetryMetrics({ registry });
    const mesh = new ServiceMeshMetrics({ registry });
    mesh.recordRegistration('user-service');
    mesh.recordRegistration('user-service');
    mesh.updateHealthyInstances('user-service', 2);
    lb.recordRequest('user-service', 'instance-1', 'round_robin');
    lb.updateActiveConnections('user-service', 'instance-1', 1);
    lb.observeRequestDuration('user-service', 'instance-1', 0.15);
    lb.recordError('user-service', 'timeout');
    lb.updateHealthScore('user-service', 'instance-1', 0.8);
    retry.recordAttempt('user-service', 'get_user', 1);
    lb.recordRequest('user-service', 'instance-2', 'round_robin');
    lb.observeRequestDuration('user-service', 'instance-2', 0.05);
    lb.updateActiveConnections('user-service', 'instance-1', 0);
    retry.recordSuccess('user-service', 'get_user', 2, 0.2);
    mesh.recordCallSuccess('user-service', 'get_user', 0.2);
    mesh.updateCircuitBreakerState('user-service', 'closed');
    const text = await registry.metrics();
    const expected: Record<string, number> = {
      'mesh_registrations_total{service="user-service"}': 2,
      'mesh_healthy_instances{service="user-service"}': 2,
      'mesh_lb_requests_total{service="user-service",instance="instance-1",strategy="round_robin"}': 1,
      'mesh_lb_requests_total{service="user-service",instance="instance-2",strategy="round_robin"}': 1,
      'mesh_lb_errors_total{service="user-service",error_type="timeout"}': 1,
      'mesh_lb_active_connections{service="user-service",instance="instance-1"}': 0,
      'mesh_lb_instance_health_score{service="user-service",instance="instance-1"}': 0.8,
      'mesh_lb_request_duration_seconds_count{service="user-service",instance="instance-1"}': 1,
      'mesh_lb_request_duration_seconds_sum{service="user-service",instance="instance-2"}': 0.05,
      'mesh_retry_attempts_total{service="user-service",operation="get_user",attempt="1"}': 1,
      'mesh_retry_success_total{service="user-service",operation="get_user"}': 1,
      'mesh_retry_duration_seconds_count{service="user-service",operation="get_user",status="success"}': 1,
      'mesh_calls_total{service="user-service",operation="get_user",status="success"}': 1,
      'mesh_call_duration_seconds_sum{service="user-service",operation="get_user"}': 0.2,
      'mesh_circuit_breaker_state{service="user-service"}': 0,
    };
    const actual: Record<string, number | undefined> = {};
    for (const series of Object.keys(expected)) {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      actual[series] = line === undefined ? undefined : Number(line.slice(series.length + 1));
    }
    expect(actual).to.deep.equal(expected);
  });

  describe('sharing families', () => {
    it('reuses the families when a set is constructed twice on one registry and prefix', async () => {
      const a = new LoadBalancerMetrics({ registry });
      const b = new LoadBalancerMetrics({ registry });
      expect(a.requestsTotal).to.equal(b.requestsTotal);
      a.recordRequest('s', 'i', 'random');
      b.recordRequest('s', 'i', 'random');
      expect(await sample(registry, 'mesh_lb_requests_total{service="s",instance="i",strategy="random"}')).to.equal(2);
      const other = new LoadBalancerMetrics({ registry, prefix: 'other_' });
      expect(other.requestsTotal).to.not.equal(a.requestsTotal);
    });

    it('names a same-named family of another type or label set', () => {
      new promClient.Gauge({ name: 'mesh_calls_total', help: 'user gauge', registers: [registry] });
      expect(() => new ServiceMeshMetrics({ registry })).to.throw(Error, 'metric mesh_calls_total is already registered as a gauge{} not made by mesh-metrics');
      const r2 = new Registry();
      new promClient.Counter({ name: 'mesh_registrations_total', help: 'h', labelNames: ['service'], registers: [r2] });
      expect(() => new ServiceMeshMetrics({ registry: r2 })).to.throw(Error, 'mesh_registrations_total');
    });

    it('refuses to share a histogram with other buckets', () => {
      new RetryMetrics({ registry, buckets: [1, 2] });
      expect(() => new RetryMetrics({ registry, buckets: [1, 3] })).to.throw(Error, 'mesh_retry_duration_seconds is already registered with buckets [1, 2], not [1, 3]');
    });

    it('writes into the global registry by default, next to the application\'s own metrics', async () => {
      const mesh = new ServiceMeshMetrics({ prefix: 'globaltest_' });
      const own = new promClient.Counter({ name: 'globaltest_own_total', help: 'own' });
      try {
        mesh.recordRegistration('users');
        own.inc();
        const text = await promClient.register.metrics();
        expect(samplesOf(text, 'globaltest_registrations_total')).to.deep.equal(['globaltest_registrations_total{service="users"} 1']);
        expect(samplesOf(text, 'globaltest_own_total')).to.deep.equal(['globaltest_own_total 1']);
      } finally {
        for (const m of promClient.register.getMetricsAsArray()) {
          if (m.name.startsWith('globaltest_')) promClient.register.removeSingleMetric(m.name);
        }
      }
    });
  });
});
