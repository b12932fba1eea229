import { expect } from 'chai';
import cluster, { type Worker } from 'node:cluster';
import { Agent, createServer, get, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import express5 from 'express';
import Koa3 from 'koa';
import request from 'supertest';
import { Registry } from './helpers/client.js';
import { CLUSTER_AGGREGATION, clusterWorkerMetrics } from '../lib/cluster-aggregation.js';
import { HttpServerMetrics } from '../lib/http-server-metrics.js';
import { LoadBalancerMetrics } from '../lib/load-balancer-metrics.js';
import { resolveMetricsOptions } from '../lib/options.js';
import { RetryMetrics } from '../lib/retry-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { clusterMetricsHandler, koaClusterMetricsHandler } from '../middleware/cluster-metrics-handler.js';
import { sampleIn } from './helpers/exposition.js';

const require = createRequire(import.meta.url);
const express4 = require('express4') as typeof express5;
const Koa2 = require('koa2') as typeof Koa3;

const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/cluster-worker.ts', import.meta.url));
const SERIES = 'service="users",method="GET",route="/users/:id",status_code="200"';
const COUNT = `mesh_http_server_request_duration_seconds_count{${SERIES}}`;

interface Forked {
  readonly worker: Worker;
  readonly port: number;
}

function fork(env: Record<string, string>): Promise<Forked> {
  const worker = cluster.fork(env);
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'mesh-test:listening') resolve({ worker, port: m.port ?? 0 });
    });
    worker.once('exit', (code) => reject(new Error(`cluster worker exited early with code ${code}`)));
  });
}

async function stop(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = new Promise((r) => worker.once('exit', r));
  worker.process.kill('SIGKILL');
  await exited;
}

/** Kept-alive connections: the primary hands each new connection to the next worker, so both get some. */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One request; resolves to the pid of the worker that served it. */
function hit(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: `/users/${Math.floor(Math.random() * 1e6)}`, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-worker-pid'])));
    }).on('error', reject);
  });
}

async function traffic(port: number, total: number, concurrency = 16): Promise<Set<string>> {
  const pids = new Set<string>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      pids.add(await hit(port));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return pids;
}

function scrape(port: number, gzip = false): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = gzip ? { 'Accept-Encoding': 'gzip' } : {};
    get({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = res.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
      });
    }).on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe('node:cluster aggregation on the primary', function () {
  this.timeout(20_000);
  const workers: Worker[] = [];
  let appPort = 0;
  let primary: Server;
  let primaryPort = 0;
  let sent = 0;

  before(async () => {
    cluster.setupPrimary({ exec: WORKER_SCRIPT, execArgv: ['--import', 'tsx'], silent: false });
    const forked = await Promise.all([fork({ MESH_WORKER_INDEX: '0' }), fork({ MESH_WORKER_INDEX: '1' })]);
    for (const f of forked) workers.push(f.worker);
    appPort = forked[0]!.port;
    expect(forked[1]!.port, 'both workers share one port').to.equal(appPort);
    primary = createServer(clusterMetricsHandler({ timeoutMs: 3000 }));
    primaryPort = await listen(primary);
  });

  after(async () => {
    agent.destroy();
    await Promise.all(workers.map(stop));
    await new Promise((r) => primary?.close(r));
  });

  it('sums 1,000 requests served by two workers behind one port into an exact _count', async () => {
    const pids = await traffic(appPort, 1000);
    sent += 1000;
    expect(pids.size, 'both workers served traffic').to.equal(2);
    const { status, headers, text } = await scrape(primaryPort);
    expect(status).to.equal(200);
    expect(headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleIn(text, COUNT)).to.equal(1000);
    expect(sampleIn(text, `mesh_http_server_request_duration_seconds_bucket{${SERIES},le="+Inf"}`)).to.equal(1000);
    expect(sampleIn(text, 'mesh_http_server_requests_in_flight{service="users"}'), 'in flight, summed').to.equal(0);
  });

  it('combines each family as the aggregation table says', async () => {
    const { text } = await scrape(primaryPort);
    const instance = 'service="users",instance="http://10.0.0.1:80"';
    expect(sampleIn(text, 'mesh_healthy_instances{service="users"}'), 'min').to.equal(2);
    expect(sampleIn(text, 'mesh_circuit_breaker_state{service="users"}'), 'max').to.equal(1);
    expect(sampleIn(text, `mesh_lb_instance_health_score{${instance}}`), 'average').to.equal(0.75);
    expect(sampleIn(text, `mesh_lb_active_connections{${instance}}`), 'sum').to.equal(5);
  });

  it('never goes backwards over 20 scrapes in a row while traffic flows, and ends exact', async () => {
    let previous = -1;
    for (let i = 0; i < 20; i++) {
      const [, { status, text }] = await Promise.all([traffic(appPort, 30, 3), scrape(primaryPort)]);
      sent += 30;
      expect(status).to.equal(200);
      const count = sampleIn(text, COUNT) ?? -1;
      expect(count, `scrape ${i + 1}`).to.be.at.least(Math.max(previous, 1000));
      previous = count;
    }
    expect(sampleIn((await scrape(primaryPort)).text, COUNT)).to.equal(sent);
  });

  it('answers a protobuf scrape in text while no worker has native histograms on', async () => {
    const reply = await new Promise<{ type: unknown; text: string }>((resolve, reject) => {
      const accept = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
      get({ host: '127.0.0.1', port: primaryPort, path: '/metrics', headers: { Accept: accept } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ type: res.headers['content-type'], text }));
      }).on('error', reject);
    });
    expect(reply.type).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleIn(reply.text, COUNT)).to.equal(sent);
  });

  it('gzips the body when the scraper accepts it', async () => {
    const { status, headers, text } = await scrape(primaryPort, true);
    expect(status).to.equal(200);
    expect(headers['content-encoding']).to.equal('gzip');
    expect(sampleIn(text, COUNT)).to.equal(sent);
  });

  for (const [name, express] of [['Express 4', express4], ['Express 5', express5]] as const) {
    it(`serves the same on an ${name} route`, async () => {
      const app = express();
      app.get('/metrics', clusterMetricsHandler());
      const res = await request(app).get('/metrics').expect(200);
      expect(sampleIn(res.text, COUNT)).to.equal(sent);
    });
  }

  for (const [name, Koa] of [['Koa 2', Koa2], ['Koa 3', Koa3]] as const) {
    it(`serves the same from the ${name} twin, and passes other paths on`, async () => {
      const app = new Koa();
      app.use(koaClusterMetricsHandler());
      app.use((ctx) => {
        ctx.body = 'app';
      });
      const res = await request(app.callback()).get('/metrics').expect(200);
      expect(res.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
      expect(sampleIn(res.text, COUNT)).to.equal(sent);
      await request(app.callback()).get('/other').expect(200, 'app');
    });
  }

  it('answers 503 with the reason when a worker is stuck, and recovers once it is gone', async () => {
    const stuck = await fork({ MESH_WORKER_INDEX: '2', MESH_WORKER_STALL_MS: '1500' });
    workers.push(stuck.worker);
    const answered = new Promise<void>((resolve) => {
      stuck.worker.on('message', (m: { type?: string }) => m?.type === 'mesh-test:answered' && resolve());
    });
    const server = createServer(clusterMetricsHandler({ timeoutMs: 300 }));
    const port = await listen(server);
    try {
      const first = await scrape(port);
      expect(first.status).to.equal(503);
      expect(first.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(first.text).to.equal('mesh-metrics: a cluster worker did not send its metrics within 300 ms\n');
      await answered;
      await stop(stuck.worker);
      const after = await scrape(primaryPort);
      expect(after.status).to.equal(200);
      expect(sampleIn(after.text, COUNT)).to.equal(sent);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('checks its options', () => {
    expect(() => clusterMetricsHandler({ timeoutMs: 0 })).to.throw(TypeError, 'timeoutMs must be a positive integer, got 0');
    expect(() => koaClusterMetricsHandler({ path: 'metrics' })).to.throw(TypeError, 'path must be a string starting with "/", got "metrics"');
  });
});

describe('the cluster aggregation table', () => {
  it('matches the aggregator every kit family carries; every gauge is listed by name', () => {
    const registry = new Registry();
    const o = resolveMetricsOptions({ registry });
    new ServiceMeshMetrics(o);
    new LoadBalancerMetrics(o);
    new RetryMetrics(o);
    new HttpServerMetrics(o);
    new HttpServerMetrics(resolveMetricsOptions({ registry, naming: 'otel', prefix: 'o_' }));
    const families = registry.getMetricsAsArray() as unknown as { name: string; type: string; aggregator: string }[];
    expect(families.length).to.equal(32);
    for (const f of families) {
      const short = /^(mesh|o)_/.test(f.name) ? f.name.replace(/^(mesh|o)_/, '') : f.name;
      if (f.type === 'gauge') expect(CLUSTER_AGGREGATION, f.name).to.have.property(short);
      const expected = CLUSTER_AGGREGATION[short] ?? CLUSTER_AGGREGATION[f.type];
      expect(f.aggregator, f.name).to.equal(expected);
    }
  });

  it('clusterWorkerMetrics refuses what is not a registry', () => {
    expect(() => clusterWorkerMetrics({ registry: {} as Registry })).to.throw(TypeError, /registry must be a prom-client or @prometheus-io\/client Registry/);
  });
});
