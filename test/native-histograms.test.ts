import { expect } from 'chai';
import express from 'express';
import { Registry } from './helpers/client.js';
import request from 'supertest';
import {
  DEFAULT_NATIVE_MAX_BUCKETS,
  DEFAULT_NATIVE_SCHEMA,
  DEFAULT_NATIVE_ZERO_THRESHOLD,
  LoadBalancerMetrics,
  meshMetrics,
  NativeHistogram,
  nativeBucketIndex,
  nativeBucketUpperBound,
  resolveMetricsOptions,
  resolveNativeHistogramOptions,
  RetryMetrics,
  ServiceMeshMetrics,
} from './helpers/internals.js';

const native = (o: object = {}) => resolveNativeHistogramOptions(o)!;

describe('native histograms: options', () => {
  it('is off unless asked for; true or {} takes the documented defaults', () => {
    expect(resolveMetricsOptions({}).nativeHistograms).to.equal(null);
    expect(resolveMetricsOptions({ nativeHistograms: false }).nativeHistograms).to.equal(null);
    expect(resolveMetricsOptions({ nativeHistograms: null }).nativeHistograms).to.equal(null);
    const defaults = { schema: 3, maxBuckets: 160, zeroThreshold: 2 ** -128 };
    expect(resolveMetricsOptions({ nativeHistograms: true }).nativeHistograms).to.deep.equal(defaults);
    expect(resolveMetricsOptions({ nativeHistograms: {} }).nativeHistograms).to.deep.equal(defaults);
    expect([DEFAULT_NATIVE_SCHEMA, DEFAULT_NATIVE_MAX_BUCKETS, DEFAULT_NATIVE_ZERO_THRESHOLD]).to.deep.equal([
      3,
      160,
      2 ** -128,
    ]);
    expect(native({ schema: -4, maxBuckets: 1, zeroThreshold: 0 })).to.deep.equal({
      schema: -4,
      maxBuckets: 1,
      zeroThreshold: 0,
    });
  });

  it('throws a TypeError naming a bad value at construction', () => {
    const bad: [unknown, string][] = [
      ['yes', 'nativeHistograms must be an object (or a boolean), got "yes"'],
      [[1], 'nativeHistograms must be an object (or a boolean), got [1]'],
      [{ schema: 9 }, 'nativeHistograms.schema must be an integer from -4 to 8, got 9'],
      [{ schema: -5 }, 'nativeHistograms.schema must be an integer from -4 to 8, got -5'],
      [{ schema: 1.5 }, 'nativeHistograms.schema must be an integer from -4 to 8, got 1.5'],
      [{ maxBuckets: 0 }, 'nativeHistograms.maxBuckets must be an integer >= 1, got 0'],
      [{ zeroThreshold: -1 }, 'nativeHistograms.zeroThreshold must be a finite number >= 0, got -1'],
      [{ zeroThreshold: NaN }, 'nativeHistograms.zeroThreshold must be a finite number >= 0, got NaN'],
    ];
    for (const [value, message] of bad) {
      expect(() => new ServiceMeshMetrics({ registry: new Registry(), nativeHistograms: value as never })).to.throw(
        TypeError,
        message,
      );
    }
    expect(() => meshMetrics({ registry: new Registry(), nativeHistograms: { schema: 10 } })).to.throw(
      TypeError,
      'nativeHistograms.schema must be an integer from -4 to 8, got 10',
    );
  });

  it('a family registered again must agree on native histograms, as on buckets', () => {
    const registry = new Registry();
    new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 2 } });
    expect(() => new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 2 } })).to.not.throw();
    expect(() => new ServiceMeshMetrics({ registry })).to.throw(
      'metric mesh_call_duration_seconds is already registered with native histograms { schema: 2, maxBuckets: 160, zeroThreshold: 2.938735877055719e-39 }, not native histograms off',
    );
  });
});

describe('native histograms: bucket index', () => {
  it('puts a value in the bucket i with base^(i-1) < v <= base^i, powers of two on their own boundary', () => {
    const cases: [number, number, number][] = [
      // [value, schema, index]
      [1, 0, 0],
      [2, 0, 1],
      [3, 0, 2],
      [4, 0, 2],
      [0.75, 0, 0],
      [0.5, 0, -1],
      [1, 3, 0],
      [1.05, 3, 1], // 1 < 1.05 <= 2^(1/8) = 1.0905
      [1.1, 3, 2], // 2^(1/8) < 1.1 <= 2^(2/8) = 1.1892
      [2, 3, 8],
      [0.001, 3, -79], // 2^(-80/8) = 0.000977 < 0.001 <= 2^(-79/8) = 0.00106
      [1, -1, 0],
      [3, -1, 1], // 1 < 3 <= 4
      [4, -1, 1],
      [5, -1, 2], // 4 < 5 <= 16
      [0.2, -1, -1], // 1/16 < 0.2 <= 1/4
      [2 ** 16, -4, 1],
      [2 ** 16 + 1, -4, 2],
      [2 ** 8, 8, 8 * 256],
      [-3, 0, 2], // the negative side uses |v|
      [5e-324, 0, -1074], // the smallest subnormal, 2^-1074, bounds bucket -1074
      [3 * 2 ** -1074, 0, -1072], // a subnormal: 2^-1073 < v <= 2^-1072
    ];
    for (const [value, schema, index] of cases) {
      expect(nativeBucketIndex(value, schema), `${value} at schema ${schema}`).to.equal(index);
    }
  });

  it('classifies values next to a boundary exactly: the largest double below 2^(j/8) is in bucket j, the next one in j + 1', () => {
    // For schema 3, the largest double at or below 2^(j/8 - 1), worked out apart with 60-digit decimals. JavaScript's
    // ** is an ulp off for some j, and Prometheus' Go client tabulates 16-digit decimals that are off by up to two.
    const below = [
      0.5, 0.5452538663326287, 0.5946035575013605, 0.6484197773255048, 0.7071067811865475, 0.7711054127039704,
      0.8408964152537145, 0.9170040432046712,
    ];
    const nextUp = (v: number): number => {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, v);
      view.setBigUint64(0, view.getBigUint64(0) + 1n);
      return view.getFloat64(0);
    };
    below.forEach((bound, j) => {
      expect(nativeBucketIndex(2 * bound, 3), `2 * ${bound}`).to.equal(j);
      expect(nativeBucketIndex(nextUp(2 * bound), 3), `just above 2 * ${bound}`).to.equal(j + 1);
    });
    expect(nativeBucketIndex(Math.SQRT2, 3)).to.equal(5); // the double nearest sqrt(2) is above the true boundary
    expect(nativeBucketIndex(Math.SQRT2, 1)).to.equal(2);
    expect(nativeBucketIndex(Math.SQRT2 / 2, 1)).to.equal(0);
  });

  it('agrees with the bucket boundaries for values across the range, at every schema', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let schema = -4; schema <= 8; schema++) {
      for (let k = 0; k < 300; k++) {
        const value = 2 ** (random() * 60 - 30);
        const i = nativeBucketIndex(value, schema);
        expect(nativeBucketUpperBound(i - 1, schema), `${value} at ${schema}`).to.be.below(value);
        expect(nativeBucketUpperBound(i, schema) * (1 + 1e-15), `${value} at ${schema}`).to.be.at.least(value);
      }
    }
  });
});

describe('native histograms: buckets, spans and deltas', () => {
  it('keeps the zero bucket, positive and negative buckets, and writes spans and deltas as Prometheus defines them', () => {
    const h = new NativeHistogram(native({ schema: 0, zeroThreshold: 0.01 }));
    for (const v of [1, 1, 2, 8, 8, 8, 0.005, 0, -0.01, -3]) h.observe(v);
    expect(h.zeroCount).to.equal(3); // 0.005, 0 and -0.01 are within the zero threshold
    expect([...h.positive].sort((a, b) => a[0] - b[0])).to.deep.equal([
      [0, 2],
      [1, 1],
      [3, 3],
    ]);
    // buckets 0 and 1, a gap of one (bucket 2), then bucket 3
    expect(h.positiveBuckets()).to.deep.equal({
      spans: [
        { offset: 0, length: 2 },
        { offset: 1, length: 1 },
      ],
      deltas: [2, -1, 2],
    });
    expect(h.negativeBuckets()).to.deep.equal({ spans: [{ offset: 2, length: 1 }], deltas: [1] });
  });

  it('a first span starts at its (possibly negative) index', () => {
    const h = new NativeHistogram(native({ schema: 1 }));
    for (const v of [0.3, 0.3, 0.7, 0.3]) h.observe(v);
    // schema 1: 0.3 is in (2^-2, 2^-1.5] = index -3; 0.7 in (2^-1, 2^-0.5] = index -1
    expect(h.positiveBuckets()).to.deep.equal({
      spans: [
        { offset: -3, length: 1 },
        { offset: 1, length: 1 },
      ],
      deltas: [3, -2],
    });
  });

  it('lowers the resolution instead of holding more than maxBuckets buckets', () => {
    const h = new NativeHistogram(native({ schema: 1, maxBuckets: 2 }));
    h.observe(1); // schema 1 index 0
    h.observe(2); // index 2
    expect(h.schema).to.equal(1);
    h.observe(4); // index 4: a third bucket, so schema 0 (0, 1, 2) and then -1 (0, 1, 1)
    expect(h.schema).to.equal(-1);
    expect([...h.positive].sort((a, b) => a[0] - b[0])).to.deep.equal([
      [0, 1],
      [1, 2],
    ]);
    // the merged buckets are the ones a fresh histogram at schema -1 would hold
    for (const v of [1, 2, 4]) expect(nativeBucketIndex(v, -1)).to.be.oneOf([0, 1]);
    h.observe(3); // same bucket as 2 and 4 at schema -1: no change of schema
    expect(h.schema).to.equal(-1);
    expect(h.positive.get(1)).to.equal(3);
  });

  it('stops at schema -4', () => {
    const h = new NativeHistogram(native({ schema: -3, maxBuckets: 1 }));
    h.observe(1);
    h.observe(2 ** 40);
    expect(h.schema).to.equal(-4);
    expect(h.bucketCount).to.equal(2);
  });
});

describe('native histograms: in the kit\'s families', () => {
  it('every metric set records native buckets next to the classic ones, and the text exposition is unchanged', async () => {
    const plain = new Registry();
    const nativeRegistry = new Registry();
    for (const [registry, nativeHistograms] of [
      [plain, undefined],
      [nativeRegistry, { schema: 0 }],
    ] as const) {
      const mesh = new ServiceMeshMetrics({ registry, nativeHistograms });
      mesh.recordCallSuccess('users', 'get_user', 0.3);
      const lb = new LoadBalancerMetrics({ registry, nativeHistograms });
      lb.observeRequestDuration('users', 'http://a:1', 0.02);
      const retries = new RetryMetrics({ registry, nativeHistograms });
      retries.recordSuccess('users', 'get_user', 1, 1.5);
    }
    expect(await nativeRegistry.metrics()).to.equal(await plain.metrics());
    const mesh = new ServiceMeshMetrics({ registry: nativeRegistry, nativeHistograms: { schema: 0 } });
    const series = mesh.callDurationSeconds.labels('users', 'get_user');
    expect(series.native?.schema).to.equal(0);
    expect([...series.native!.positive]).to.deep.equal([[nativeBucketIndex(0.3, 0), 1]]);
    expect(new ServiceMeshMetrics({ registry: plain }).callDurationSeconds.labels('users', 'get_user').native).to.equal(
      undefined,
    );
  });

  it('NaN, infinite and negative durations stay dropped and counted, and never reach the native buckets', async () => {
    const registry = new Registry();
    const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: true });
    for (const v of [NaN, Infinity, -1, 0.25]) mesh.recordCallSuccess('users', 'get_user', v);
    const s = mesh.callDurationSeconds.labels('users', 'get_user');
    expect(s.count).to.equal(1);
    expect(s.native!.bucketCount + s.native!.zeroCount).to.equal(1);
    expect(await registry.metrics()).to.include('mesh_metrics_errors_total{kind="invalid_value"} 3');
  });

  it('meshMetrics() passes the option to the inbound duration histogram', async () => {
    const registry = new Registry();
    const app = express();
    const middleware = meshMetrics({ registry, nativeHistograms: { schema: 2 } });
    app.use(middleware);
    app.get('/users/:id', (_req, res) => void res.send('ok'));
    await request(app).get('/users/7').expect(200);
    const family = registry.getSingleMetric('mesh_http_server_request_duration_seconds') as unknown as {
      nativeHistograms: unknown;
      series(): Iterable<{ count: number; native?: NativeHistogram }>;
    };
    expect(family.nativeHistograms).to.deep.equal({ schema: 2, maxBuckets: 160, zeroThreshold: 2 ** -128 });
    const [s] = [...family.series()];
    expect(s!.count).to.equal(1);
    expect(s!.native!.bucketCount + s!.native!.zeroCount).to.equal(1);
  });
});
