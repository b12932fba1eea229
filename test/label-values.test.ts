import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Registry } from './helpers/client.js';
import { LoadBalancerMetrics, UNKNOWN_INSTANCE } from '../lib/load-balancer-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { samplesOf } from './helpers/exposition.js';

describe('label values as stored, and as the README says', () => {
  it('an empty or missing instance on the mesh_lb_* families is unknown_instance, never empty', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry });
    lb.recordRequest('users', '', 'round_robin');
    lb.recordRequest('users', undefined as unknown as string, 'round_robin');
    lb.observeRequestDuration('users', '', 0.01);
    lb.updateActiveConnections('users', null as unknown as string, 2);
    lb.updateHealthScore('users', '', 0.5);
    const text = await registry.metrics();
    expect(UNKNOWN_INSTANCE).to.equal('unknown_instance');
    expect(samplesOf(text, 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="users",instance="unknown_instance",strategy="round_robin"} 2',
    ]);
    expect(samplesOf(text, 'mesh_lb_request_duration_seconds_count')).to.deep.equal([
      'mesh_lb_request_duration_seconds_count{service="users",instance="unknown_instance"} 1',
    ]);
    expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([
      'mesh_lb_active_connections{service="users",instance="unknown_instance"} 2',
    ]);
    expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([
      'mesh_lb_instance_health_score{service="users",instance="unknown_instance"} 0.5',
    ]);
    expect(text).not.to.include('instance=""');
  });

  it('written through the family objects too (prom-client calls, a missing instance): unknown_instance, one series', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry });
    lb.requestsTotal.inc({ service: 'users', strategy: 'round_robin' });
    lb.requestsTotal.labels('users', '', 'round_robin').inc();
    lb.recordRequest('users', '', 'round_robin');
    lb.requestDurationSeconds.observe({ service: 'users' }, 0.01);
    lb.activeConnections.set({ service: 'users', instance: '' }, 3);
    lb.instanceHealthScore.labels({ service: 'users' }).set(0.25);
    lb.observeBodySizes('users', '', 10, 20);
    lb.observeFirstByte('users', '', 0.01);
    let text = await registry.metrics();
    for (const family of ['mesh_lb_request_body_size_bytes', 'mesh_lb_response_body_size_bytes', 'mesh_lb_response_first_byte_seconds']) {
      expect(samplesOf(text, `${family}_count`), family).to.deep.equal([`${family}_count{service="users",instance="unknown_instance"} 1`]);
    }
    expect(samplesOf(text, 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="users",instance="unknown_instance",strategy="round_robin"} 3',
    ]);
    expect(samplesOf(text, 'mesh_lb_request_duration_seconds_count')).to.deep.equal([
      'mesh_lb_request_duration_seconds_count{service="users",instance="unknown_instance"} 1',
    ]);
    expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([
      'mesh_lb_active_connections{service="users",instance="unknown_instance"} 3',
    ]);
    expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([
      'mesh_lb_instance_health_score{service="users",instance="unknown_instance"} 0.25',
    ]);
    expect(text).not.to.include('instance=""');
    // removed by the value it was written with, as by the one it is shown with
    expect(lb.activeConnections.remove({ service: 'users', instance: '' })).to.equal(true);
    expect(lb.instanceHealthScore.remove('users', 'unknown_instance')).to.equal(true);
    text = await registry.metrics();
    expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([]);
    expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([]);
  });

  it('control characters become _, lone surrogates U+FFFD, and the README says so', async () => {
    const registry = new Registry();
    new ServiceMeshMetrics({ registry }).recordCallSuccess('a\nb\x1b[2J\u0085c', 'lone\ud800', 0.01);
    expect(samplesOf(await registry.metrics(), 'mesh_calls_total')).to.deep.equal([
      'mesh_calls_total{service="a_b_[2J_c",operation="lone\ufffd",status="success"} 1',
    ]);
    const readme = readFileSync('README.md', 'utf8').replace(/\s+/g, ' ');
    expect(readme).to.include('control characters (C0 such as newline, tab and ESC, DEL, and C1 U+0080–U+009F) each become `_`');
    expect(readme).to.include('a lone UTF-16 surrogate becomes U+FFFD');
    expect(readme).to.include('is written as `unknown_instance`');
  });
});
