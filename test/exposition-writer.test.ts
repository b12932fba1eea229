import { expect } from 'chai';
import promClient, { Registry, type RegistryContentType } from './helpers/client.js';
import {
  LoadBalancerMetrics,
  RetryMetrics,
  ServiceMeshMetrics,
  counterFamily,
  gaugeFamily,
  histogramFamily,
  resolveMetricsOptions,
  SelfMetrics,
} from './helpers/internals.js';
import { gunzipSync } from 'node:zlib';
import { expositionChunks, gzipExposition, renderExposition } from '../lib/exposition-writer.js';

const CONTENT_TYPES = [
  ['Prometheus text', Registry.PROMETHEUS_CONTENT_TYPE],
  ['OpenMetrics', Registry.OPENMETRICS_CONTENT_TYPE],
] as const;

const HOSTILE = [
  'say "hi"',
  'back\\slash\\',
  'new\nline',
  'tab\tand\rcr',
  'a,b=c|d:e',
  '}{"',
  'x'.repeat(10_000),
  'emoji \u{1F600} and lone \ud800',
  '',
];

/** The kit's seed metric sets with ordinary, hostile, overflowing and empty series. */
function fillKit(registry: Registry): void {
  const lb = new LoadBalancerMetrics({ registry, maxSeries: 6 });
  const mesh = new ServiceMeshMetrics({ registry });
  const retry = new RetryMetrics({ registry });
  HOSTILE.forEach((value, i) => {
    lb.recordRequest('users', value, 'round_robin');
    lb.observeRequestDuration('users', value, 0.001 * (i + 1) ** 3);
    mesh.recordCallSuccess(value, 'get_user', 0.2 * i);
  });
  lb.recordError('users', new Error('boom'));
  lb.updateHealthScore('users', 'http://a:1', 0.25);
  lb.updateActiveConnections('users', 'http://a:1', 3);
  mesh.recordCallFailure('users', 'get_user', 503, 1.5);
  mesh.updateCircuitBreakerState('users', 'half_open');
  retry.recordAttempt('users', 'get_user', 1);
  retry.recordSuccess('users', 'get_user', 2, 0.3);
  lb.observeRequestDuration('users', 'http://a:1', Number.NaN);
}

/** Families built directly: no labels, a counter not ending in _total, a label named like a default, exemplars. */
function fillFamilies(registry: Registry): void {
  const o = resolveMetricsOptions({ registry, prefix: 'raw_', buckets: [0.1, 1, 2.5] });
  const self = new SelfMetrics(o);
  counterFamily(o, self, { name: 'events', help: 'no _total suffix', labelNames: [] }).labels().inc(7);
  gaugeFamily(o, self, { name: 'level', help: 'with \\ and\nnewline in help', labelNames: ['region'] })
    .labels('eu')
    .set(-2.5);
  const h = histogramFamily(o, self, { name: 'latency_seconds', help: 'h', labelNames: ['region', 'le_like'] });
  h.labels('eu', 'x').observeWithExemplar(0.05, { trace_id: 'abc"\\' });
  h.labels('eu', 'x').observeWithExemplar(7, { trace_id: 'def' });
  h.labels('us', '').observe(1);
  histogramFamily(o, self, { name: 'unused_seconds', help: 'never observed', labelNames: ['region'] });
  histogramFamily(o, self, { name: 'plain_seconds', help: 'no labels', labelNames: [] }).labels().observe(0.5);
}

/** prom-client's own metric types next to ours, one with a collect function. */
function fillPromClient(registry: Registry): void {
  const registers = [registry];
  const c = new promClient.Counter({ name: 'app_orders_total', help: 'orders', labelNames: ['kind'], registers });
  c.inc({ kind: 'a"b' }, 2);
  c.inc({ kind: 'line\nbreak' });
  new promClient.Gauge({
    name: 'app_temperature',
    help: 'collected',
    labelNames: ['room'],
    registers,
    collect() {
      this.set({ room: 'kitchen' }, 21.5);
    },
  });
  const h = new promClient.Histogram({ name: 'app_size_bytes', help: 'sizes', labelNames: ['kind'], buckets: [10, 100], registers });
  h.observe({ kind: 'x' }, 50);
  h.observe({ kind: 'y' }, 500);
  const s = new promClient.Summary({ name: 'app_work_seconds', help: 'work', percentiles: [0.5, 0.9], registers });
  s.observe(0.2);
  s.observe(0.4);
  new promClient.Counter({ name: 'app_plain', help: 'no labels, no suffix', registers }).inc(3);
}

/** A registry of the given content type, typed as the kit's options take it. */
function newRegistry(contentType: RegistryContentType): Registry {
  // prom-client's published types omit the constructor's content-type argument.
  const RegistryWithType = Registry as unknown as new (contentType: RegistryContentType) => Registry;
  return new RegistryWithType(contentType);
}

function mixedRegistry(contentType: RegistryContentType, defaults: boolean): Registry {
  const registry = newRegistry(contentType);
  fillPromClient(registry);
  fillKit(registry);
  fillFamilies(registry);
  if (defaults) registry.setDefaultLabels({ service: 'default-svc', pod: 'p"1\\', zone: 'z\n1' });
  return registry;
}

describe('exposition writer', () => {
  for (const [label, contentType] of CONTENT_TYPES) {
    describe(label, () => {
      for (const defaults of [false, true]) {
        it(`equals registry.metrics() byte for byte ${defaults ? 'with' : 'without'} default labels`, async () => {
          const registry = mixedRegistry(contentType, defaults);
          const expected = await registry.metrics();
          expect(await renderExposition(registry)).to.equal(expected);
          expect(await renderExposition(registry, { sliceLines: 1 })).to.equal(expected);
        });
      }

      it('gzips to exactly registry.metrics(), small pieces and large', async () => {
        const registry = mixedRegistry(contentType, true);
        const lb = new LoadBalancerMetrics({ registry, prefix: 'big_', maxSeries: 5000 });
        for (let i = 0; i < 1000; i++) lb.observeRequestDuration('big', `http://10.1.${i >> 8}.${i & 255}:80`, i / 700);
        const expected = await registry.metrics();
        expect(expected.length).to.be.greaterThan(1 << 18);
        expect(gunzipSync(await gzipExposition(registry)).toString('utf8')).to.equal(expected);
        expect(gunzipSync(await gzipExposition(registry, { sliceLines: 7 })).toString('utf8')).to.equal(expected);
      });

      it('equals registry.metrics() for an empty registry and for families without series', async () => {
        const registry = newRegistry(contentType);
        expect(await renderExposition(registry)).to.equal(await registry.metrics());
        new LoadBalancerMetrics({ registry });
        expect(await renderExposition(registry)).to.equal(await registry.metrics());
      });

      it('equals registry.metrics() on 1,000 histogram series spread over many slices', async () => {
        const registry = newRegistry(contentType);
        const lb = new LoadBalancerMetrics({ registry, maxSeries: 5000 });
        for (let i = 0; i < 1000; i++) lb.observeRequestDuration('users', `http://10.0.${i >> 8}.${i & 255}:80`, i / 1000);
        registry.setDefaultLabels({ le: 'weird', instance: 'shadowed' });
        expect(await renderExposition(registry, { sliceLines: 100 })).to.equal(await registry.metrics());
      });
    });
  }

  it('writes what prom-client writes when the registry switches content type after rendering', async () => {
    const registry = mixedRegistry(Registry.PROMETHEUS_CONTENT_TYPE, true);
    expect(await renderExposition(registry)).to.equal(await registry.metrics());
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    expect(await renderExposition(registry)).to.equal(await registry.metrics());
  });

  it('gives the event loop a turn between slices', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry });
    for (let i = 0; i < 50; i++) lb.observeRequestDuration('users', `http://h${i}:80`, 0.1);
    let turns = 0;
    let done = false;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks: string[] = [];
    for await (const chunk of expositionChunks(registry, { sliceLines: 17 })) chunks.push(chunk);
    done = true;
    expect(chunks.join('')).to.equal(await registry.metrics());
    // 50 series of 17 lines each make 50 slices: the loop turned between each two of them.
    expect(turns).to.be.at.least(49);
  });

  it('rejects like registry.metrics() when a collector throws, and renders again afterwards', async () => {
    const registry = mixedRegistry(Registry.PROMETHEUS_CONTENT_TYPE, false);
    let fail = true;
    new promClient.Gauge({
      name: 'app_flaky',
      help: 'throws once',
      registers: [registry],
      collect() {
        if (fail) throw new Error('collector broke');
      },
    });
    const rejection = await renderExposition(registry).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rejection).to.be.instanceOf(Error).with.property('message', 'collector broke');
    const gzipRejection = await gzipExposition(registry).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(gzipRejection).to.be.instanceOf(Error).with.property('message', 'collector broke');
    fail = false;
    expect(await renderExposition(registry)).to.equal(await registry.metrics());
  });

  it('rejects a bad sliceLines or sliceMs with a TypeError naming it', async () => {
    const registry = new Registry();
    const bad = [
      ...[0, -1, 1.5, Number.NaN].map((v) => ['sliceLines', { sliceLines: v }] as const),
      ...[0, -1, Number.NaN, '5' as never].map((v) => ['sliceMs', { sliceMs: v }] as const),
    ];
    for (const [name, options] of bad) {
      const error = await renderExposition(registry, options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TypeError).with.property('message').that.contains(name);
    }
  });
});
