import { expect } from 'chai';
import express5, { type Request, type Response } from 'express';
import express4 from 'express4';
import Koa from 'koa';
import { createRequire } from 'node:module';
import { Registry } from './helpers/client.js';
import request from 'supertest';
import { koaMetricsHandler, metricsHandler, serveMetrics } from '../index.js';
import { routedPathMatcher } from '../middleware/path-match.js';
import { expressModes, koaModes } from './helpers/inbound-modes.js';
import { countsOf, inboundKey } from './helpers/inbound-traffic.js';

const require = createRequire(import.meta.url);
const Koa2 = require('koa2') as typeof Koa;
type Express = typeof express5;
const FAMILY = 'mesh_http_server_request_duration_seconds';

describe('the scrape path: what the exclude keeps out is what the handler serves', () => {
  it('paths compare as the routers route: case-insensitive, one trailing slash ignored', () => {
    const is = routedPathMatcher(['/metrics', '/Health/Live']);
    expect(['/metrics', '/METRICS', '/Metrics/', '/health/live', '/HEALTH/LIVE/'].map(is)).to.deep.equal([true, true, true, true, true]);
    expect(['/metrics//', '/metricsx', '/metric', '/', '/metrics/x'].map(is)).to.deep.equal([false, false, false, false, false]);
  });

  // supertest serves the app on a server of its own: the modes that measure the app itself
  const appModes = expressModes.filter((m) => m.name !== 'instrumentExpress(server)');
  for (const [major, express] of [['Express 4', express4 as unknown as Express], ['Express 5', express5]] as const) {
    for (const mode of appModes) {
      it(`${major}, ${mode.name}: GET /METRICS and /metrics/ are served by app.get('/metrics') and not recorded`, async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 's' });
        app.get('/metrics', metricsHandler({ registry }));
        app.get('/healthz', (_req: Request, res: Response) => void res.send('ok'));
        app.get('/users/:id', (req: Request, res: Response) => void res.json({ id: req.params.id }));
        for (const path of ['/metrics', '/METRICS', '/Metrics/']) {
          const res = await request(app).get(path).expect(200);
          expect(res.text).to.include('# TYPE mesh_http_server_request_duration_seconds histogram');
        }
        await request(app).get('/users/1').expect(200);
        await request(app).get('/HEALTHZ').expect(200);
        const counts = Object.fromEntries(countsOf(await registry.metrics(), FAMILY));
        expect(counts).to.deep.equal({
          [inboundKey('s', 'GET', '/healthz', 200)]: 1,
          [inboundKey('s', 'GET', '/users/:id', 200)]: 1,
        });

        const custom = new Registry();
        const other = express();
        mode.measure(other, { registry: custom, service: 's', exclude: ['/healthz'] });
        other.get('/healthz', (_req: Request, res: Response) => void res.send('ok'));
        await request(other).get('/HealthZ/').expect(200);
        expect(countsOf(await custom.metrics(), FAMILY).size).to.equal(0);
      });
    }
  }

  for (const [major, KoaApp] of [['Koa 2', Koa2], ['Koa 3', Koa]] as const) {
    for (const mode of koaModes) {
      it(`${major}, ${mode.name}: koaMetricsHandler answers /METRICS too, and the middleware leaves it out`, async () => {
        const registry = new Registry();
        const app = new KoaApp();
        mode.measure(app, { registry, service: 'k' });
        app.use(koaMetricsHandler({ registry }));
        app.use((ctx) => {
          ctx.body = 'app';
        });
        const server = app.callback();
        for (const path of ['/metrics', '/METRICS', '/metrics/']) {
          const res = await request(server).get(path).expect(200);
          expect(res.text).to.include('# TYPE mesh_http_server_request_duration_seconds histogram');
        }
        expect((await request(server).get('/metrics/more').expect(200)).text).to.equal('app');
        const counts = Object.fromEntries(countsOf(await registry.metrics(), FAMILY));
        expect(counts).to.deep.equal({ [inboundKey('k', 'GET', '__unmatched__', 200)]: 1 });
      });
    }
  }
});

describe('serveMetrics: the address it reports', () => {
  it('without a host, reports a URL a user can open (the loopback), never [::] or 0.0.0.0', async () => {
    const registry = new Registry();
    const m = serveMetrics({ port: 0, registry });
    try {
      const address = await m.listening;
      expect(['::', '0.0.0.0']).to.include(address.host);
      expect(address.url).to.equal(`http://127.0.0.1:${address.port}/metrics`);
      const res = await fetch(address.url);
      expect(res.status).to.equal(200);
    } finally {
      await m.close();
    }
  });

  it('with a host, reports that host', async () => {
    const m = serveMetrics({ port: 0, host: '127.0.0.1', registry: new Registry() });
    try {
      const address = await m.listening;
      expect(address.url).to.equal(`http://127.0.0.1:${address.port}/metrics`);
      expect((await fetch(address.url)).status).to.equal(200);
    } finally {
      await m.close();
    }
  });
});
