import { expect } from 'chai';
import cluster, { type Worker } from 'node:cluster';
import { createServer, get, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Koa from 'koa';
import request from 'supertest';
import { PROTOBUF_CONTENT_TYPE } from '../lib/protobuf-exposition.js';
import { NativeHistogram, resolveNativeHistogramOptions } from '../lib/native-histogram.js';
import { clusterMetricsHandler, koaClusterMetricsHandler } from '../middleware/cluster-metrics-handler.js';
import { sampleIn } from './helpers/exposition.js';
import { decodeFamilies, family, labelsOf } from './helpers/protobuf.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/cluster-native-worker.ts', import.meta.url));
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

function fork(env: Record<string, string>): Promise<Worker> {
  const worker = cluster.fork(env);
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { type?: string }) => m?.type === 'mesh-test:ready' && resolve(worker));
    worker.once('exit', (code) => reject(new Error(`cluster worker exited early with code ${code}`)));
  });
}

async function stop(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = new Promise((r) => worker.once('exit', r));
  worker.process.kill('SIGKILL');
  await exited;
}

function scrape(port: number, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('node:cluster primary: the protobuf scrape with native histograms', function () {
  this.timeout(20_000);
  const workers: Worker[] = [];
  let primary: Server;
  let port = 0;

  before(async () => {
    cluster.setupPrimary({ exec: WORKER_SCRIPT, execArgv: ['--import', 'tsx'], silent: false });
    workers.push(
      ...(await Promise.all([
        fork({ MESH_WORKER_INDEX: '0', MESH_WORKER_SCHEMA: '2' }),
        fork({ MESH_WORKER_INDEX: '1', MESH_WORKER_SCHEMA: '0' }),
      ])),
    );
    primary = createServer(clusterMetricsHandler({ timeoutMs: 5000 }));
    await new Promise<void>((r) => primary.listen(0, '127.0.0.1', r));
    port = (primary.address() as { port: number }).port;
  });

  after(async () => {
    await Promise.all(workers.map(stop));
    await new Promise((r) => primary?.close(r));
  });

  it('adds the workers\' native buckets at the lower schema, next to the summed classic buckets', async () => {
    const reply = await scrape(port, { Accept: PROTOBUF_ACCEPT });
    expect(reply.status).to.equal(200);
    expect(reply.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
    const f = family(decodeFamilies(reply.body), 'mesh_call_duration_seconds');
    const users = f.metric.find((m) => labelsOf(m)['service'] === 'users')!;
    expect(labelsOf(users)).to.deep.equal({ service: 'users', operation: 'get_user', pool: 'blue' });
    // worker 0 at schema 2: 1 -> 0, 1.5 -> 3, 3 -> 7, which at schema 0 are 0, 1, 2; worker 1 at schema 0: 1 -> 0,
    // 3 -> 2, and 0 in the zero bucket
    expect(users['histogram']).to.deep.equal({
      sampleCount: 6,
      sampleSum: 9.5,
      bucket: [
        { cumulativeCount: 3, upperBound: 1 },
        { cumulativeCount: 4, upperBound: 2 },
      ],
      schema: 0,
      zeroThreshold: 2 ** -128,
      zeroCount: 1,
      positiveSpan: [{ offset: 0, length: 3 }],
      positiveDelta: [2, -1, 1],
    });
    const orders = f.metric.find((m) => labelsOf(m)['service'] === 'orders')!;
    // 0.25 is bucket -8 at schema 2 and -2 at schema 0, from both workers
    expect([orders['histogram'].schema, orders['histogram'].positiveSpan, orders['histogram'].positiveDelta]).to.deep.equal([
      0,
      [{ offset: -2, length: 1 }],
      [2],
    ]);
    const calls = family(decodeFamilies(reply.body), 'mesh_calls_total');
    expect(calls.metric.map((m) => m['counter'].value).reduce((a: number, b: number) => a + b, 0)).to.equal(8);
  });

  it('gzips the protobuf answer when accepted, and still answers text to a text scrape', async () => {
    const zipped = await scrape(port, { Accept: PROTOBUF_ACCEPT, 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).to.equal('gzip');
    const h = family(decodeFamilies(gunzipSync(zipped.body)), 'mesh_call_duration_seconds').metric[0]!['histogram'];
    expect(h.schema).to.equal(0);
    const text = await scrape(port, {});
    expect(text.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const body = text.body.toString('utf8');
    expect(sampleIn(body, 'mesh_call_duration_seconds_count{service="users",operation="get_user",pool="blue"}')).to.equal(6);
    expect(body).to.not.include('schema');
  });

  it('the Koa twin answers protobuf scrapes the same way', async () => {
    const app = new Koa();
    app.use(koaClusterMetricsHandler());
    const res = await request(app.callback())
      .get('/metrics')
      .set('Accept', PROTOBUF_ACCEPT)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
    const h = family(decodeFamilies(res.body as Buffer), 'mesh_call_duration_seconds').metric[0]!['histogram'];
    expect([h.sampleCount, h.schema, h.zeroCount]).to.deep.equal([6, 0, 1]);
  });

  it('answers text, with every worker summed, while a worker set up with prom-client alone is connected', async () => {
    const plain = await fork({ MESH_WORKER_INDEX: '0', MESH_WORKER_SCHEMA: '3', MESH_WORKER_PLAIN: '1' });
    try {
      for (let i = 0; i < 2; i++) {
        const reply = await scrape(port, { Accept: PROTOBUF_ACCEPT });
        expect(reply.status).to.equal(200);
        expect(reply.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
        const count = sampleIn(reply.body.toString('utf8'), 'mesh_call_duration_seconds_count{service="users",operation="get_user",pool="blue"}');
        expect(count).to.equal(9);
      }
    } finally {
      await stop(plain);
    }
    const back = await scrape(port, { Accept: PROTOBUF_ACCEPT });
    expect(back.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
  });

  it('merging is the same as one histogram that saw every observation, at the lower schema', () => {
    const options = resolveNativeHistogramOptions({ schema: 3 })!;
    const a = new NativeHistogram(options);
    const b = new NativeHistogram({ ...options, schema: 1 });
    const both = new NativeHistogram({ ...options, schema: 1 });
    const values = [0.001, 0.0013, 0.02, 0.5, 0.51, 7, 0];
    values.forEach((v, i) => (i % 2 === 0 ? a : b).observe(v));
    values.forEach((v) => both.observe(v));
    const merged = new NativeHistogram({ ...options, schema: 1 });
    merged.merge(a.snapshot());
    merged.merge(b.snapshot());
    expect(merged.schema).to.equal(1);
    expect(new Map(merged.positive)).to.deep.equal(new Map(both.positive));
    expect(merged.zeroCount).to.equal(1);
  });

  it('merging keeps to maxBuckets by lowering the resolution, and a wider zero bucket takes what it covers', () => {
    const small = new NativeHistogram(resolveNativeHistogramOptions({ schema: 0, maxBuckets: 2, zeroThreshold: 0.1 })!);
    const other = new NativeHistogram(resolveNativeHistogramOptions({ schema: 0, zeroThreshold: 0 })!);
    for (const v of [0.05, 1, 2, 4]) other.observe(v); // buckets -4, 0, 1, 2
    small.merge(other.snapshot());
    expect(small.zeroCount).to.equal(1); // 0.05's bucket (0.03125, 0.0625] is inside the zero bucket
    expect(small.schema).to.equal(-1); // 0, 1, 2 at schema 0 are 0, 1, 1 at schema -1
    expect([...small.positive].sort((a, b) => a[0] - b[0])).to.deep.equal([
      [0, 1],
      [1, 2],
    ]);
  });
});
