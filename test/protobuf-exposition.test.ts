import { expect } from 'chai';
import { gunzipSync } from 'node:zlib';
import { Counter, Gauge, Histogram, Registry, Summary } from './helpers/client.js';
import {
  gzipProtobuf,
  LoadBalancerMetrics,
  nativeBucketIndex,
  protobufChunks,
  protobufPieces,
  RetryMetrics,
  ServiceMeshMetrics,
  type HistogramSeries,
} from './helpers/internals.js';
import { decodeFamilies, family, labelsOf, type DecodedFamily } from './helpers/protobuf.js';

async function decoded(registry: Registry, options = {}): Promise<DecodedFamily[]> {
  return decodeFamilies(Buffer.concat(await protobufPieces(registry, options)));
}

const ZERO_THRESHOLD = 2 ** -128;

describe('protobuf exposition: the kit\'s native histograms', () => {
  it('decodes to exact sum, count, zero bucket, spans, deltas and classic buckets for known observations', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 0 }, buckets: [0.1, 1] });
    // schema 0: 0.3 -> bucket -1 (0.25, 0.5]; 0.4 -> -1; 1 -> 0 (0.5, 1]; 6 -> 3 (4, 8]; 0 -> zero bucket
    for (const v of [0.3, 0.4, 1, 6, 0]) mesh.recordCallSuccess('users', 'get_user', v);
    const f = family(await decoded(registry), 'mesh_call_duration_seconds');
    expect(f.type).to.equal('HISTOGRAM');
    expect(f.help).to.equal('Duration of outbound calls, retries included, in seconds.');
    expect(f.metric).to.have.length(1);
    const m = f.metric[0]!;
    expect(labelsOf(m)).to.deep.equal({ service: 'users', operation: 'get_user' });
    expect(m['histogram']).to.deep.equal({
      sampleCount: 5,
      sampleSum: 7.7,
      bucket: [
        { cumulativeCount: 1, upperBound: 0.1 },
        { cumulativeCount: 4, upperBound: 1 },
      ],
      schema: 0,
      zeroThreshold: ZERO_THRESHOLD,
      zeroCount: 1,
      positiveSpan: [
        { offset: -1, length: 2 },
        { offset: 2, length: 1 },
      ],
      positiveDelta: [2, -1, 0],
    });
  });

  it('schema 3 (the default): every observation in the bucket its index names', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: true });
    const values = [0.0042, 0.0042, 0.013, 0.2, 0.21, 3.5];
    for (const v of values) mesh.recordCallSuccess('users', 'get_user', v);
    const h = family(await decoded(registry), 'mesh_call_duration_seconds').metric[0]!['histogram'];
    expect(h.schema).to.equal(3);
    const expected = new Map<number, number>();
    for (const v of values) expected.set(nativeBucketIndex(v, 3), (expected.get(nativeBucketIndex(v, 3)) ?? 0) + 1);
    // expand spans and deltas back to index -> count
    const got = new Map<number, number>();
    let index = 0;
    let count = 0;
    let d = 0;
    for (const span of h.positiveSpan as { offset: number; length: number }[]) {
      index += span.offset; // the first span's start, then the gap after the previous span
      for (let k = 0; k < span.length; k++) {
        count += h.positiveDelta[d++] as number;
        if (count !== 0) got.set(index, count);
        index++;
      }
    }
    expect([...got].sort((a, b) => a[0] - b[0])).to.deep.equal([...expected].sort((a, b) => a[0] - b[0]));
    // 0.0042 in (2^(-64/8), 2^(-63/8)], 0.013 in bucket -50, 0.2 and 0.21 both in -18, 3.5 in 15
    expect([...got]).to.deep.equal([
      [-63, 2],
      [-50, 1],
      [-18, 2],
      [15, 1],
    ]);
  });

  it('an empty native series carries a no-op span, so it still reads as native', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { zeroThreshold: 0 } });
    mesh.callDurationSeconds.labels('users', 'idle');
    const h = family(await decoded(registry), 'mesh_call_duration_seconds').metric[0]!['histogram'];
    expect(h.positiveSpan).to.deep.equal([{ offset: 0, length: 0 }]);
    expect(h.zeroThreshold).to.equal(0);
    expect(h.sampleCount).to.equal(0);
  });

  it('carries exemplars on the classic buckets and, for native histograms, in the exemplars field', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 0 }, buckets: [1] });
    mesh.recordCallSuccess('users', 'get_user', 0.5, '4bf92f3577b34da6a3ce929d0e0e4736');
    const s = mesh.callDurationSeconds.labels('users', 'get_user') as HistogramSeries;
    const t = s.exemplars![0]!.timestamp;
    const h = family(await decoded(registry), 'mesh_call_duration_seconds').metric[0]!['histogram'];
    const exemplar = {
      label: [{ name: 'trace_id', value: '4bf92f3577b34da6a3ce929d0e0e4736' }],
      value: 0.5,
      timestamp: { seconds: Math.floor(t), nanos: Math.round((t - Math.floor(t)) * 1e9) },
    };
    expect(h.bucket).to.deep.equal([{ cumulativeCount: 1, upperBound: 1, exemplar }]);
    expect(h.exemplars).to.deep.equal([exemplar]);
  });

  it('without native histograms a kit histogram is a classic one: no schema, no spans', async () => {
    const registry = new Registry();
    new RetryMetrics({ registry, buckets: [1, 2] }).recordSuccess('users', 'get_user', 1, 1.5);
    const m = family(await decoded(registry), 'mesh_retry_duration_seconds').metric[0]!;
    expect(m['histogram']).to.deep.equal({
      sampleCount: 1,
      sampleSum: 1.5,
      bucket: [
        { cumulativeCount: 0, upperBound: 1 },
        { cumulativeCount: 1, upperBound: 2 },
      ],
    });
  });
});

describe('protobuf exposition: the whole registry', () => {
  function appRegistry(openMetrics = false): Registry {
    const registry = new Registry();
    if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    registry.setDefaultLabels({ region: 'eu' });
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 1 } });
    mesh.recordCallSuccess('users', 'get_user', 1);
    mesh.recordCallFailure('users', 'get_user', 'timeout', 2);
    mesh.updateHealthyInstances('users', 3);
    new Counter({ name: 'app_jobs_total', help: 'Jobs.', labelNames: ['kind'], registers: [registry] })
      .labels('nightly')
      .inc(4);
    new Gauge({ name: 'app_queue_depth', help: 'Queue depth.', registers: [registry] }).set(-2.5);
    const h = new Histogram({ name: 'app_job_seconds', help: 'Job time.', labelNames: ['kind'], buckets: [1, 10], registers: [registry] });
    h.labels('nightly').observe(0.5);
    h.labels('nightly').observe(20);
    h.labels('hourly').observe(5);
    const s = new Summary({ name: 'app_payload_bytes', help: 'Payload size.', percentiles: [0.5, 0.9], registers: [registry] });
    for (const v of [10, 20, 30]) s.observe(v);
    return registry;
  }

  it('holds the kit\'s families and the application\'s own metrics, default labels merged, in registry order', async () => {
    const families = await decoded(appRegistry());
    expect(families.map((f) => [f.name, f.type])).to.deep.equal([
      ['mesh_calls_total', 'COUNTER'],
      ['mesh_call_duration_seconds', 'HISTOGRAM'],
      ['mesh_healthy_instances', 'GAUGE'],
      ['app_jobs_total', 'COUNTER'],
      ['app_queue_depth', 'GAUGE'],
      ['app_job_seconds', 'HISTOGRAM'],
      ['app_payload_bytes', 'SUMMARY'],
    ]); // families without series (registrations, circuit state, self metrics) are left out
    expect(family(families, 'mesh_calls_total').metric.map((m) => [labelsOf(m), m['counter'].value])).to.deep.equal([
      [{ service: 'users', operation: 'get_user', status: 'success', region: 'eu' }, 1],
      [{ service: 'users', operation: 'get_user', status: 'failure', error_type: 'timeout', region: 'eu' }, 1],
    ]);
    expect(family(families, 'mesh_healthy_instances').metric).to.deep.equal([
      { label: [{ name: 'service', value: 'users' }, { name: 'region', value: 'eu' }], gauge: { value: 3 } },
    ]);
    expect(family(families, 'app_jobs_total').metric).to.deep.equal([
      { label: [{ name: 'kind', value: 'nightly' }, { name: 'region', value: 'eu' }], counter: { value: 4 } },
    ]);
    expect(family(families, 'app_queue_depth').metric).to.deep.equal([
      { label: [{ name: 'region', value: 'eu' }], gauge: { value: -2.5 } },
    ]);
    expect(family(families, 'app_job_seconds').metric).to.deep.equal([
      {
        label: [{ name: 'kind', value: 'nightly' }, { name: 'region', value: 'eu' }],
        histogram: {
          sampleCount: 2,
          sampleSum: 20.5,
          bucket: [
            { cumulativeCount: 1, upperBound: 1 },
            { cumulativeCount: 1, upperBound: 10 },
          ],
        },
      },
      {
        label: [{ name: 'kind', value: 'hourly' }, { name: 'region', value: 'eu' }],
        histogram: {
          sampleCount: 1,
          sampleSum: 5,
          bucket: [
            { cumulativeCount: 0, upperBound: 1 },
            { cumulativeCount: 1, upperBound: 10 },
          ],
        },
      },
    ]);
    expect(family(families, 'app_payload_bytes').metric).to.deep.equal([
      {
        label: [{ name: 'region', value: 'eu' }],
        summary: {
          sampleCount: 3,
          sampleSum: 60,
          quantile: [
            { quantile: 0.5, value: 20 },
            { quantile: 0.9, value: 30 },
          ],
        },
      },
    ]);
    const native = family(families, 'mesh_call_duration_seconds').metric[0]!['histogram'];
    // schema 1: 1 -> bucket 0, 2 -> bucket 2
    expect([native.schema, native.positiveSpan, native.positiveDelta]).to.deep.equal([
      1,
      [
        { offset: 0, length: 1 },
        { offset: 1, length: 1 },
      ],
      [1, 0],
    ]);
  });

  it('an OpenMetrics registry gives the same families, counters named as its exposition names them', async () => {
    const registry = appRegistry(true);
    await registry.metrics(); // prom-client renames counters in place for OpenMetrics
    const names = (await decoded(registry)).map((f) => f.name);
    expect(names).to.include.members(['mesh_calls_total', 'app_jobs_total']);
    expect(await decoded(registry)).to.deep.equal(await decoded(appRegistry()));
  });

  it('carries the application\'s own exemplars (prom-client counters and histograms)', async () => {
    const registry = new Registry();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const c = new Counter({ name: 'app_orders_total', help: 'Orders.', enableExemplars: true, registers: [registry] });
    c.inc({ value: 2, exemplarLabels: { trace_id: 'abc' } });
    new Counter({ name: 'app_quiet_total', help: 'No exemplar.', enableExemplars: true, registers: [registry] }).inc();
    const h = new Histogram({ name: 'app_wait_seconds', help: 'Wait.', buckets: [1], enableExemplars: true, registers: [registry] });
    h.observe({ value: 0.5, exemplarLabels: { trace_id: 'def' } });
    h.observe({ value: 3 });
    const families = await decoded(registry);
    const counter = family(families, 'app_orders_total').metric[0]!['counter'];
    expect(counter.value).to.equal(2);
    expect(counter.exemplar.label).to.deep.equal([{ name: 'trace_id', value: 'abc' }]);
    expect(counter.exemplar.value).to.equal(2);
    expect(counter.exemplar.timestamp.seconds).to.be.a('number');
    expect(family(families, 'app_quiet_total').metric[0]!['counter']).to.deep.equal({ value: 1 });
    const bucket = family(families, 'app_wait_seconds').metric[0]!['histogram'].bucket;
    expect(bucket).to.have.length(1); // the +Inf bucket is the count
    expect([bucket[0].cumulativeCount, bucket[0].upperBound, bucket[0].exemplar.label, bucket[0].exemplar.value]).to.deep.equal([
      1,
      1,
      [{ name: 'trace_id', value: 'def' }],
      0.5,
    ]);
  });

  it('is the same in slices of one series as in one go, and gzipped', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: true });
    for (let i = 0; i < 300; i++) mesh.recordCallSuccess(`svc${i % 30}`, `op${i}`, 0.001 * (i + 1));
    const whole = Buffer.concat(await protobufPieces(registry));
    const sliced = Buffer.concat(await protobufPieces(registry, { sliceLines: 1 }));
    expect(sliced.equals(whole)).to.equal(true);
    expect(gunzipSync(await gzipProtobuf(registry)).equals(whole)).to.equal(true);
    const f = family(decodeFamilies(whole), 'mesh_call_duration_seconds');
    expect(f.metric).to.have.length(300);
    expect(f.metric.reduce((n, m) => n + (m['histogram'].sampleCount as number), 0)).to.equal(300);
  });

  it('gives the event loop a turn between slices', async () => {
    const registry = new Registry();
    const lb = new LoadBalancerMetrics({ registry, nativeHistograms: true });
    for (let i = 0; i < 50; i++) lb.observeRequestDuration('users', `http://h${i}:80`, 0.1);
    let turns = 0;
    let done = false;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks: Uint8Array[] = [];
    for await (const chunk of protobufChunks(registry, { sliceLines: 1 })) chunks.push(chunk);
    done = true;
    expect(Buffer.concat(chunks).equals(Buffer.concat(await protobufPieces(registry)))).to.equal(true);
    // one series per slice: 50 slices, and the loop turned between each two of them
    expect(turns).to.be.at.least(49);
  });

  it('rejects a bad sliceLines or sliceMs with a TypeError naming it', async () => {
    for (const [name, options] of [
      ['sliceLines', { sliceLines: 0 }],
      ['sliceMs', { sliceMs: -1 }],
    ] as const) {
      const error = await protobufPieces(new Registry(), options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TypeError).with.property('message').that.contains(name);
    }
  });

  it('rejects when a collector throws, like registry.metrics()', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'app_broken',
      help: 'Throws.',
      registers: [registry],
      collect() {
        throw new Error('boom');
      },
    });
    let error: unknown;
    await protobufPieces(registry).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal('boom');
  });
});
