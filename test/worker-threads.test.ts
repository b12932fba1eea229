import { expect } from 'chai';
import { createRequire } from 'node:module';
import express5 from 'express';
import Koa3 from 'koa';
import request from 'supertest';
import { createServer, get, type Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { threadMetricsAggregator, workerThreadMetrics } from '../lib/thread-aggregation.js';
import { koaThreadMetricsHandler, threadMetricsHandler } from '../middleware/cluster-metrics-handler.js';
import { CLIENT_NAME, Registry } from './helpers/client.js';
import { sampleIn } from './helpers/exposition.js';

const require = createRequire(import.meta.url);
const express4 = require('express4') as typeof express5;
const Koa2 = require('koa2') as typeof Koa3;

const FIXTURE = new URL('./fixtures/thread-worker.ts', import.meta.url).href;

/**
 * Boots the fixture under tsx inside the thread: Node 20 does not apply the test process's `--import tsx` to
 * worker threads, so the thread registers tsx itself.
 */
const BOOT = `import('tsx/esm/api')
  .then(({ register }) => { register(); return import(${JSON.stringify(FIXTURE)}); })
  .catch((error) => { console.error(error); process.exit(1); });`;
const CALLS = 'mesh_calls_total{service="users",operation="get_user",status="success"}';

function start(index: number): Promise<Worker> {
  const worker = new Worker(BOOT, { eval: true, workerData: { index } });
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

let taskId = 0;

/** Posts one task and waits for the worker's reply. */
function task(worker: Worker, t: { calls?: number; blockMs?: number }): Promise<void> {
  const id = taskId++;
  return new Promise((resolve) => {
    const onMessage = (m: { id?: number }): void => {
      if (m?.id !== id) return;
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.postMessage({ id, ...t });
  });
}

function scrape(port: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe(`worker_threads aggregation on the main thread (${CLIENT_NAME})`, function () {
  this.timeout(30_000);
  const main = new Registry();
  const mainMesh = new ServiceMeshMetrics({ registry: main });
  let server: Server;
  let port = 0;
  let workers: Worker[] = [];
  let recorded = 0;
  const perWorker = [0, 0, 0];

  before(async () => {
    server = createServer(threadMetricsHandler({ registry: main, timeoutMs: 3000 }));
    port = await listen(server);
    workers = await Promise.all([0, 1, 2].map(start));
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
    await new Promise((r) => server.close(r));
  });

  it("gives the exact sum of the main thread's registry and three worker threads", async () => {
    await Promise.all(workers.map((w, i) => task(w, { calls: 100 * (i + 1) })));
    for (let i = 0; i < 50; i++) mainMesh.recordCallSuccess('users', 'get_user', 0.01);
    perWorker.splice(0, 3, 100, 200, 300);
    recorded = 100 + 200 + 300 + 50;
    const { status, text } = await scrape(port);
    expect(status, text).to.equal(200);
    expect(sampleIn(text, CALLS)).to.equal(recorded);
    expect(sampleIn(text, 'mesh_healthy_instances{service="users"}'), 'min of 3, 2, 2').to.equal(2);
  });

  it('never goes backwards over 20 scrapes in a row while the workers record, and ends exact', async () => {
    let previous = recorded;
    for (let i = 0; i < 20; i++) {
      const [, , { status, text }] = await Promise.all([
        task(workers[i % 3]!, { calls: 10 }),
        task(workers[(i + 1) % 3]!, { calls: 5 }),
        scrape(port),
      ]);
      recorded += 15;
      perWorker[i % 3]! += 10;
      perWorker[(i + 1) % 3]! += 5;
      expect(status, text).to.equal(200);
      const count = sampleIn(text, CALLS) ?? -1;
      expect(count, `scrape ${i + 1}`).to.be.at.least(previous).and.at.most(recorded);
      previous = count;
    }
    expect(sampleIn((await scrape(port)).text, CALLS)).to.equal(recorded);
  });

  for (const [name, express] of [['Express 4', express4], ['Express 5', express5]] as const) {
    it(`serves the same on an ${name} route, gzipped when asked`, async () => {
      const app = express();
      app.get('/metrics', threadMetricsHandler({ registry: main }));
      const res = await request(app).get('/metrics').set('Accept-Encoding', 'gzip').expect(200);
      expect(res.headers['content-encoding']).to.equal('gzip');
      expect(sampleIn(res.text, CALLS)).to.equal(recorded);
    });
  }

  for (const [name, Koa] of [['Koa 2', Koa2], ['Koa 3', Koa3]] as const) {
    it(`serves the same from the ${name} twin, and passes other paths on`, async () => {
      const app = new Koa();
      app.use(koaThreadMetricsHandler({ registry: main }));
      app.use((ctx) => {
        ctx.body = 'app';
      });
      const res = await request(app.callback()).get('/metrics').expect(200);
      expect(res.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
      expect(sampleIn(res.text, CALLS)).to.equal(recorded);
      await request(app.callback()).get('/other').expect(200, 'app');
    });
  }

  it('answers 503 with the reason when a worker thread is stuck, and recovers', async () => {
    const quick = createServer(threadMetricsHandler({ registry: [], timeoutMs: 300 }));
    const quickPort = await listen(quick);
    try {
      const blocking = new Promise<void>((resolve) => {
        const onMessage = (m: { blocking?: number }): void => {
          if (m?.blocking === undefined) return;
          workers[0]!.off('message', onMessage);
          resolve();
        };
        workers[0]!.on('message', onMessage);
      });
      const blocked = task(workers[0]!, { blockMs: 1500 });
      await blocking;
      const r = await scrape(quickPort);
      expect(r.status).to.equal(503);
      expect(r.text).to.equal('mesh-metrics: a worker thread did not send its metrics within 300 ms\n');
      await blocked;
      expect(sampleIn((await scrape(port)).text, CALLS)).to.equal(recorded);
    } finally {
      await new Promise((r) => quick.close(r));
    }
  });

  it("leaves out a worker thread that has exited (its counts leave the sum) instead of waiting for it", async () => {
    const gone = workers.pop()!;
    await gone.terminate();
    const { status, text } = await scrape(port);
    expect(status).to.equal(200);
    expect(sampleIn(text, CALLS)).to.equal(recorded - perWorker[2]!);
  });

  it('checks where it runs and its options', () => {
    expect(() => workerThreadMetrics()).to.throw(Error, 'mesh-metrics: workerThreadMetrics() runs in a worker thread');
    expect(() => threadMetricsAggregator({ timeoutMs: 0 })).to.throw(TypeError, 'timeoutMs must be a positive integer, got 0');
    expect(() => koaThreadMetricsHandler({ path: 'metrics' })).to.throw(TypeError, 'path must be a string starting with "/", got "metrics"');
    expect(() => threadMetricsAggregator({ registry: {} as Registry })).to.throw(
      TypeError,
      'registry must be a prom-client or @prometheus-io/client Registry (or an array of them), got [object Object]',
    );
  });
});
