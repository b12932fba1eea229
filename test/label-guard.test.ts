import { expect } from 'chai';
import { Registry } from './helpers/client.js';
import { CounterFamily, LoadBalancerMetrics, ServiceMeshMetrics, counterFamily, resolveMetricsOptions, sanitizeLabelValue, SelfMetrics } from './helpers/internals.js';
import { havePromtool, promtoolProblems, sample, samplesOf } from './helpers/exposition.js';

function twoLabelFamily(registry: Registry): CounterFamily<'a' | 'b'> {
  const o = resolveMetricsOptions({ registry });
  return counterFamily(o, new SelfMetrics(o), { name: 'pair_total', help: 'pairs', labelNames: ['a', 'b'] });
}

describe('label guard', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  it('turns undefined and null into "" and other primitives into text', () => {
    expect(sanitizeLabelValue(undefined, 128)).to.equal('');
    expect(sanitizeLabelValue(null, 128)).to.equal('');
    expect(sanitizeLabelValue(42, 128)).to.equal('42');
    expect(sanitizeLabelValue(false, 128)).to.equal('false');
    const hostile = { toString(): string { throw new Error('no'); } };
    expect(sanitizeLabelValue(hostile, 128)).to.equal('');
  });

  it('replaces control characters and lone surrogates, and cuts without splitting a pair', () => {
    expect(sanitizeLabelValue('a\nb\rc\td\u0000e\u007ff\u0085g', 128)).to.equal('a_b_c_d_e_f_g');
    expect(sanitizeLabelValue('x\ud800y', 128)).to.equal('x\ufffdy');
    expect(sanitizeLabelValue('x\udc00', 128)).to.equal('x\ufffd');
    expect(sanitizeLabelValue('ok \u{1F600}', 128)).to.equal('ok \u{1F600}');
    expect(sanitizeLabelValue('ab\u{1F600}', 3)).to.equal('ab');
    expect(sanitizeLabelValue('z'.repeat(10_000), 128)).to.equal('z'.repeat(128));
  });

  it('writes undefined as an empty value, never "undefined" (an instance as unknown_instance)', async () => {
    new LoadBalancerMetrics({ registry }).recordRequest(undefined as never, null as never, 'random');
    expect(samplesOf(await registry.metrics(), 'mesh_lb_requests_total')).to.deep.equal([
      'mesh_lb_requests_total{service="",instance="unknown_instance",strategy="random"} 1',
    ]);
  });

  it('escapes quotes and backslashes in the exposition', async () => {
    new ServiceMeshMetrics({ registry }).recordRegistration('say "hi" \\o/');
    expect(samplesOf(await registry.metrics(), 'mesh_registrations_total')).to.deep.equal([
      'mesh_registrations_total{service="say \\"hi\\" \\\\o/"} 1',
    ]);
  });

  it('never merges distinct label tuples, whatever separators the values hold', async () => {
    const family = twoLabelFamily(registry);
    family.labels('1,b:2', undefined).inc();
    family.labels('1', '2').inc(2);
    family.labels('1|2', '').inc(3);
    family.labels('1', '|2').inc(4);
    family.labels('a=1', 'b=2').inc(5);
    family.labels('a', '=1,b=2').inc(6);
    family.labels('x:', 'y').inc(7);
    family.labels('x', ':y').inc(8);
    expect(samplesOf(await registry.metrics(), 'mesh_pair_total')).to.deep.equal([
      'mesh_pair_total{a="1,b:2",b=""} 1',
      'mesh_pair_total{a="1",b="2"} 2',
      'mesh_pair_total{a="1|2",b=""} 3',
      'mesh_pair_total{a="1",b="|2"} 4',
      'mesh_pair_total{a="a=1",b="b=2"} 5',
      'mesh_pair_total{a="a",b="=1,b=2"} 6',
      'mesh_pair_total{a="x:",b="y"} 7',
      'mesh_pair_total{a="x",b=":y"} 8',
    ]);
  });

  it('shares one series between raw values that clean to the same text', async () => {
    const family = twoLabelFamily(registry);
    family.labels('a\nb', 1).inc();
    family.labels('a_b', '1').inc();
    family.labels('a\tb', 1).inc();
    expect(samplesOf(await registry.metrics(), 'mesh_pair_total')).to.deep.equal(['mesh_pair_total{a="a_b",b="1"} 3']);
    expect(family.seriesCount).to.equal(1);
  });

  it('cuts 10 KB values to maxLabelValueLength', async () => {
    const lb = new LoadBalancerMetrics({ registry, maxLabelValueLength: 16 });
    lb.recordRequest('s'.repeat(10_240), 'i'.repeat(10_240), 'round_robin');
    lb.recordRequest('s'.repeat(10_241), 'i'.repeat(10_000), 'round_robin');
    expect(samplesOf(await registry.metrics(), 'mesh_lb_requests_total')).to.deep.equal([
      `mesh_lb_requests_total{service="${'s'.repeat(16)}",instance="${'i'.repeat(16)}",strategy="round_robin"} 2`,
    ]);
  });

  it('gives valid exposition for hostile labels', async function () {
    if (!havePromtool()) this.skip();
    const lb = new LoadBalancerMetrics({ registry });
    const mesh = new ServiceMeshMetrics({ registry });
    const hostile = ['"quoted"', 'back\\slash\\', 'new\nline', 'cr\rtab\t', 'x'.repeat(10_240), '1,b:2', 'a|b=c', '\u0000nul', 'lone\ud800', '}{"', '\\"\\n', ''];
    for (const h of hostile) {
      lb.recordRequest(h, h, h);
      lb.observeRequestDuration(h, h, 0.1);
      lb.updateHealthScore(h, h, 0.5);
      mesh.recordCallFailure(h, h, h, 0.2);
      mesh.recordRegistration(h);
    }
    const text = await registry.metrics();
    expect(promtoolProblems(text)).to.deep.equal([]);
    expect(samplesOf(text, 'mesh_registrations_total')).to.have.length(hostile.length);
  });

  describe('numbers', () => {
    it('drops NaN, infinite and negative durations and counts them', async () => {
      const lb = new LoadBalancerMetrics({ registry });
      for (const v of [NaN, Infinity, -Infinity, -0.5, '0.5' as unknown as number]) lb.observeRequestDuration('s', 'i', v);
      lb.observeRequestDuration('s', 'i', 0.25);
      lb.updateActiveConnections('s', 'i', NaN);
      lb.updateActiveConnections('s', 'i', -1);
      lb.updateHealthScore('s', 'i', NaN);
      const text = await registry.metrics();
      expect(samplesOf(text, 'mesh_lb_request_duration_seconds_count')).to.deep.equal(['mesh_lb_request_duration_seconds_count{service="s",instance="i"} 1']);
      expect(samplesOf(text, 'mesh_lb_request_duration_seconds_sum')).to.deep.equal(['mesh_lb_request_duration_seconds_sum{service="s",instance="i"} 0.25']);
      expect(samplesOf(text, 'mesh_lb_active_connections')).to.deep.equal([]);
      expect(samplesOf(text, 'mesh_lb_instance_health_score')).to.deep.equal([]);
      expect(await sample(registry, 'mesh_metrics_errors_total{kind="invalid_value"}')).to.equal(8);
    });

    it('never lets a bad increment poison a counter', async () => {
      const family = twoLabelFamily(registry);
      const s = family.labels('a', 'b');
      s.inc(NaN);
      s.inc(-1);
      s.inc(Infinity);
      s.inc('3' as never);
      s.inc(2);
      expect(await sample(registry, 'mesh_pair_total{a="a",b="b"}')).to.equal(2);
      expect(await sample(registry, 'mesh_metrics_errors_total{kind="invalid_value"}')).to.equal(4);
    });

    it('catches an internal fault, counts it and never throws to the caller', async () => {
      const lb = new LoadBalancerMetrics({ registry });
      (lb.requestsTotal as unknown as { labels: () => never }).labels = () => {
        throw new Error('broken');
      };
      expect(() => lb.recordRequest('s', 'i', 'random')).to.not.throw();
      expect(await sample(registry, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
    });
  });
});
