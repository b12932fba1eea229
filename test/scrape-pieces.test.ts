import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import { Registry } from './helpers/client.js';
import request from 'supertest';
import { LoadBalancerMetrics, koaMetricsHandler, metricsHandler } from './helpers/internals.js';
import { expositionPieces } from '../lib/exposition-writer.js';

/** A registry whose exposition is several megabytes: 2,000 histogram series of 14 buckets. */
function largeRegistry(): Registry {
  const registry = new Registry();
  const lb = new LoadBalancerMetrics({ registry });
  for (let i = 0; i < 2000; i++) lb.observeRequestDuration('users', `http://10.0.${i >> 8}.${i & 255}:8080`, (i % 50) / 10);
  lb.recordRequest('users', 'http://10.0.0.1:8080', 'round_robin');
  return registry;
}

describe('scrapes without gzip', () => {
  it('render as pieces that join to exactly registry.metrics()', async () => {
    const registry = largeRegistry();
    const pieces = await expositionPieces(registry);
    const expected = await registry.metrics();
    expect(pieces.length).to.be.greaterThan(4);
    expect(Buffer.concat(pieces).toString('utf8')).to.equal(expected);
  });

  it('are served piece by piece with the exact length and text, on Express and Koa', async () => {
    const registry = largeRegistry();
    const expected = await registry.metrics();
    const app = express();
    app.get('/metrics', metricsHandler({ registry }));
    const koa = new Koa();
    koa.use(koaMetricsHandler({ registry }));
    for (const server of [app, koa.callback()]) {
      const res = await request(server).get('/metrics').set('Accept-Encoding', 'identity');
      expect(res.status).to.equal(200);
      expect(res.headers['content-encoding']).to.equal(undefined);
      expect(res.headers['content-length']).to.equal(String(Buffer.byteLength(expected)));
      expect(res.text).to.equal(expected);
      const head = await request(server).head('/metrics').set('Accept-Encoding', 'identity');
      expect(head.status).to.equal(200);
      expect(head.headers['content-length']).to.equal(String(Buffer.byteLength(expected)));
    }
  });
});
