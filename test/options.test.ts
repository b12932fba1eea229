import { expect } from 'chai';
import promClient, { Registry } from './helpers/client.js';
import {
  DEFAULT_BUCKETS,
  DEFAULT_SIZE_BUCKETS,
  LoadBalancerMetrics,
  RetryMetrics,
  ServiceMeshMetrics,
  resolveMetricsOptions,
} from './helpers/internals.js';

describe('MetricsOptions', () => {
  it('defaults to the global registry, mesh_ prefix, OpenTelemetry buckets, 2000 series, 128 characters', () => {
    const o = resolveMetricsOptions();
    expect(o.registry).to.equal(promClient.register);
    expect(o.prefix).to.equal('mesh_');
    expect(o.buckets).to.deep.equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    expect(o.buckets).to.equal(DEFAULT_BUCKETS);
    expect(o.maxSeries).to.equal(2000);
    expect(o.maxLabelValueLength).to.equal(128);
  });

  it('rejects a bad prefix with a TypeError naming it', () => {
    for (const prefix of ['9abc', 'with-dash', '', 'a b', 'é']) {
      expect(() => resolveMetricsOptions({ prefix }), prefix).to.throw(TypeError, JSON.stringify(prefix));
    }
    expect(() => resolveMetricsOptions({ prefix: 42 as never })).to.throw(TypeError, 'prefix must match');
    expect(resolveMetricsOptions({ prefix: '_My_App1_' }).prefix).to.equal('_My_App1_');
  });

  it('rejects buckets that are not finite and strictly increasing', () => {
    expect(() => resolveMetricsOptions({ buckets: [0.1, 0.1] })).to.throw(TypeError, 'buckets[1] = 0.1');
    expect(() => resolveMetricsOptions({ buckets: [1, 0.5] })).to.throw(TypeError, 'strictly increasing');
    expect(() => resolveMetricsOptions({ buckets: [0.1, Infinity] })).to.throw(TypeError, 'buckets[1] must be a finite number, got Infinity');
    expect(() => resolveMetricsOptions({ buckets: [NaN] })).to.throw(TypeError, 'got NaN');
    expect(() => resolveMetricsOptions({ buckets: ['1' as never] })).to.throw(TypeError, 'got "1"');
    expect(() => resolveMetricsOptions({ buckets: [] })).to.throw(TypeError, 'non-empty');
    expect(resolveMetricsOptions({ buckets: [0.5, 1] }).buckets).to.deep.equal([0.5, 1]);
  });

  it('takes buckets per kind of family, keeping the defaults of the kinds left out, and checks each', () => {
    const one = resolveMetricsOptions({ buckets: [0.5, 1] });
    expect(one.bucketsBy).to.deep.equal({ duration: [0.5, 1], firstByte: [0.5, 1], size: DEFAULT_SIZE_BUCKETS });
    expect(DEFAULT_SIZE_BUCKETS).to.deep.equal([64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]);
    const per = resolveMetricsOptions({ buckets: { firstByte: [0.1], size: [10, 100] } });
    expect(per.bucketsBy).to.deep.equal({ duration: DEFAULT_BUCKETS, firstByte: [0.1], size: [10, 100] });
    expect(per.buckets).to.equal(DEFAULT_BUCKETS);
    expect(() => resolveMetricsOptions({ buckets: { size: [100, 10] } })).to.throw(TypeError, 'buckets.size[1] = 10');
    expect(() => resolveMetricsOptions({ buckets: { firstByte: [] } })).to.throw(TypeError, 'buckets.firstByte must be a non-empty array');
    expect(() => resolveMetricsOptions({ buckets: { latency: [1] } as never })).to.throw(TypeError, 'buckets.latency is not a bucket kind');
    expect(() => resolveMetricsOptions({ buckets: 5 as never })).to.throw(TypeError, 'buckets must be an array or { duration, firstByte, size }, got 5');
  });

  it('takes naming "mesh" (the default) or "otel", nothing else', () => {
    expect(resolveMetricsOptions().naming).to.equal('mesh');
    expect(resolveMetricsOptions({ naming: 'otel' }).naming).to.equal('otel');
    expect(() => resolveMetricsOptions({ naming: 'OTel' as never })).to.throw(TypeError, 'naming must be "mesh" or "otel", got "OTel"');
  });

  it('rejects bad caps and registries', () => {
    expect(() => resolveMetricsOptions({ maxSeries: 1 })).to.throw(TypeError, 'maxSeries must be an integer >= 2, got 1');
    expect(() => resolveMetricsOptions({ maxSeries: 10.5 })).to.throw(TypeError, 'got 10.5');
    expect(() => resolveMetricsOptions({ maxLabelValueLength: 0 })).to.throw(TypeError, 'maxLabelValueLength');
    expect(() => resolveMetricsOptions({ registry: {} as never })).to.throw(TypeError, 'registry must be a prom-client or @prometheus-io/client Registry');
    expect(() => resolveMetricsOptions(null as never)).to.throw(TypeError, 'options must be an object, got null');
  });

  it('validates at construction of every metric set', () => {
    expect(() => new LoadBalancerMetrics({ prefix: 'x-' })).to.throw(TypeError, '"x-"');
    expect(() => new RetryMetrics({ buckets: [2, 1] })).to.throw(TypeError);
    expect(() => new ServiceMeshMetrics({ maxSeries: 0 })).to.throw(TypeError);
  });

  it('uses the prefix on every family', async () => {
    const registry = new Registry();
    new ServiceMeshMetrics({ registry, prefix: 'app_' }).recordCallSuccess('users', 'get', 0.1);
    const names = registry.getMetricsAsArray().map((m) => m.name);
    expect(names).to.include.members(['app_calls_total', 'app_call_duration_seconds', 'app_metrics_errors_total']);
    expect(names.filter((n) => n.startsWith('mesh_'))).to.deep.equal([]);
  });
});
