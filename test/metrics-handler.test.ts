import Router from '@koa/router';
import { expect } from 'chai';
import express5 from 'express';
import express4 from 'express4';
import Koa from 'koa';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { Gauge, Registry } from './helpers/client.js';
import {
  HttpServerMetrics,
  koaMetricsHandler,
  metricsHandler,
  resolveMetricsOptions,
  serveMetrics,
  type ScrapeOptions,
} from './helpers/internals.js';
import { promtoolProblems } from './helpers/exposition.js';
import { listen } from './helpers/inbound-traffic.js';

const require = createRequire(import.meta.url);
const Koa2 = require('koa2') as typeof Koa;
type Express = typeof express5;

interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request with exactly these headers; the body as sent, not decoded. */
function raw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A running scrape endpoint: its URL and how to stop it. */
interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
}

type FrontEnd = (options: ScrapeOptions) => Promise<Endpoint>;

function expressFrontEnd(express: Express): FrontEnd {
  return async (options) => {
    const app = express();
    app.get('/metrics', metricsHandler(options));
    const s = await listen(app);
    return { url: `${s.url}/metrics`, close: () => s.close() };
  };
}

function koaFrontEnd(KoaApp: typeof Koa): FrontEnd {
  return async (options) => {
    const app = new KoaApp();
    app.use(koaMetricsHandler(options));
    app.use((ctx) => {
      ctx.body = 'the app';
    });
    const s = await listen(app.callback());
    return { url: `${s.url}/metrics`, close: () => s.close() };
  };
}

const serveFrontEnd: FrontEnd = async (options) => {
  const m = serveMetrics({ ...options, port: 0, host: '127.0.0.1' });
  const { url } = await m.listening;
  return { url, close: () => m.close() };
};

const frontEnds: [string, FrontEnd][] = [
  ['metricsHandler on Express 4', expressFrontEnd(express4 as unknown as Express)],
  ['metricsHandler on Express 5', expressFrontEnd(express5)],
  ['koaMetricsHandler on Koa 2', koaFrontEnd(Koa2)],
  ['koaMetricsHandler on Koa 3', koaFrontEnd(Koa)],
  ['serveMetrics', serveFrontEnd],
];

/** A registry holding some inbound series, with a quote in a label value for good measure. */
function filledRegistry(openMetrics = false): Registry {
  const registry = new Registry();
  if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  const m = new HttpServerMetrics(resolveMetricsOptions({ registry }));
  m.requestDuration.labels('svc', 'GET', '/users/:id', 200).observe(0.02);
  m.requestDuration.labels('svc', 'GET', '/say/"hi"', 500).observe(1.5);
  m.requestDuration.labels('svc', 'POST', '/orders # {x}', 201).observeWithExemplar(0.3, { trace_id: 'abc123' });
  m.requestsInFlight.labels('svc').set(0);
  return registry;
}

for (const [name, frontEnd] of frontEnds) {
  describe(name, () => {
    let endpoint: Endpoint | undefined;
    afterEach(async () => {
      await endpoint?.close();
      endpoint = undefined;
    });
    const start = async (options: ScrapeOptions): Promise<string> => {
      endpoint = await frontEnd(options);
      return endpoint.url;
    };

    it('serves the registry\'s exposition with its content type, gzipped when accepted', async () => {
      const registry = filledRegistry();
      const url = await start({ registry });
      const expected = await registry.metrics();

      const plain = await raw(url);
      expect(plain.status).to.equal(200);
      expect(plain.headers['content-type']).to.equal(registry.contentType);
      expect(plain.headers['content-encoding']).to.equal(undefined);
      expect(plain.body.toString('utf8')).to.equal(expected);
      expect(promtoolProblems(expected)).to.deep.equal([]);

      const zipped = await raw(url, { 'Accept-Encoding': 'gzip' });
      expect(zipped.status).to.equal(200);
      expect(zipped.headers['content-encoding']).to.equal('gzip');
      expect(zipped.headers['content-type']).to.equal(registry.contentType);
      expect(gunzipSync(zipped.body).toString('utf8')).to.equal(expected);

      const refused = await raw(url, { 'Accept-Encoding': 'gzip;q=0, identity' });
      expect(refused.headers['content-encoding']).to.equal(undefined);
      expect(refused.body.toString('utf8')).to.equal(expected);
    });

    it('answers HEAD with the headers alone', async () => {
      const url = await start({ registry: filledRegistry() });
      const head = await raw(url, {}, 'HEAD');
      expect(head.status).to.equal(200);
      expect(head.body.length).to.equal(0);
    });

    it('requires the bearer token when one is set: none 401, wrong 401, right 200', async () => {
      const registry = filledRegistry();
      const url = await start({ registry, bearerToken: 's3cret-token' });
      const none = await raw(url);
      expect(none.status).to.equal(401);
      expect(none.headers['www-authenticate']).to.equal('Bearer');
      const wrong = await raw(url, { Authorization: 'Bearer s3cret-tokem' });
      expect(wrong.status).to.equal(401);
      expect(wrong.headers['www-authenticate']).to.equal('Bearer');
      expect((await raw(url, { Authorization: 'Basic s3cret-token' })).status).to.equal(401);
      const right = await raw(url, { Authorization: 'Bearer s3cret-token' });
      expect(right.status).to.equal(200);
      expect(right.body.toString('utf8')).to.equal(await registry.metrics());
    });

    it('asks authorize(req), sync or async; a throw is a 500', async () => {
      let verdict: boolean | Promise<boolean> | Error = false;
      const url = await start({
        registry: filledRegistry(),
        authorize: (req) => {
          if (verdict instanceof Error) throw verdict;
          return req.headers['x-scraper'] === 'prometheus' && verdict;
        },
      });
      expect((await raw(url, { 'X-Scraper': 'prometheus' })).status).to.equal(403);
      verdict = true;
      expect((await raw(url, { 'X-Scraper': 'someone' })).status).to.equal(403);
      expect((await raw(url, { 'X-Scraper': 'prometheus' })).status).to.equal(200);
      verdict = Promise.resolve(true);
      expect((await raw(url, { 'X-Scraper': 'prometheus' })).status).to.equal(200);
      verdict = new Error('auth backend down');
      expect((await raw(url, { 'X-Scraper': 'prometheus' })).status).to.equal(500);
    });

    it('answers 500 with a short text when a collector throws, and keeps serving', async () => {
      const registry = filledRegistry();
      let broken = true;
      new Gauge({
        name: 'app_queue_depth',
        help: 'Queue depth.',
        registers: [registry],
        collect() {
          if (broken) throw new Error('queue unreachable');
          this.set(3);
        },
      });
      const url = await start({ registry });
      const failed = await raw(url);
      expect(failed.status).to.equal(500);
      expect(failed.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(failed.body.toString('utf8')).to.equal('mesh-metrics: collecting metrics failed\n');
      broken = false;
      const ok = await raw(url);
      expect(ok.status).to.equal(200);
      expect(ok.body.toString('utf8')).to.contain('app_queue_depth 3');
    });

    it('serves OpenMetrics from an OpenMetrics registry', async () => {
      const registry = filledRegistry(true);
      const url = await start({ registry });
      const reply = await raw(url, {
        Accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
        'Accept-Encoding': 'gzip',
      });
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/openmetrics-text; version=1.0.0; charset=utf-8');
      const text = gunzipSync(reply.body).toString('utf8');
      expect(text).to.equal(await registry.metrics());
      expect(text.endsWith('# EOF\n')).to.equal(true);
      expect(text).to.contain(' # {trace_id="abc123"} 0.3 ');
    });

    it('answers the text format from an OpenMetrics registry when the scrape does not ask for OpenMetrics', async () => {
      const registry = filledRegistry(true);
      const url = await start({ registry });
      const twin = await filledRegistry().metrics(); // the same metrics in a text registry
      const asks: Record<string, string>[] = [{}, { Accept: 'text/plain;version=0.0.4' }, { Accept: 'application/openmetrics-text;q=0' }];
      for (const headers of asks) {
        const reply = await raw(url, headers);
        expect(reply.status).to.equal(200);
        expect(reply.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
        expect(reply.body.toString('utf8')).to.equal(twin);
      }
      const zipped = await raw(url, { 'Accept-Encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).to.equal('gzip');
      expect(gunzipSync(zipped.body).toString('utf8')).to.equal(twin);
      expect(promtoolProblems(twin)).to.deep.equal([]);
    });

    it('answers the text format from a text registry even when OpenMetrics is asked', async () => {
      const registry = filledRegistry();
      const url = await start({ registry });
      const reply = await raw(url, { Accept: 'application/openmetrics-text;version=1.0.0' });
      expect(reply.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
      expect(reply.body.toString('utf8')).to.equal(await registry.metrics());
    });
  });
}

describe('scrape handler options', () => {
  it('throws a TypeError naming a bad option', () => {
    expect(() => metricsHandler({ bearerToken: '' })).to.throw(TypeError, 'bearerToken').and.match(/""/);
    expect(() => metricsHandler({ bearerToken: 'two words' })).to.throw(TypeError, '"two words"');
    expect(() => metricsHandler({ authorize: 'yes' as never })).to.throw(TypeError, 'authorize must be a function, got "yes"');
    expect(() => metricsHandler({ compress: 1 as never })).to.throw(TypeError, 'compress');
    expect(() => metricsHandler({ registry: {} as never })).to.throw(TypeError, 'registry');
    expect(() => koaMetricsHandler({ path: 'metrics' })).to.throw(TypeError, '"metrics"');
    expect(() => serveMetrics({ port: 70000 })).to.throw(TypeError, 'port').and.match(/70000/);
    expect(() => serveMetrics(undefined as never)).to.throw(TypeError, 'port');
    expect(() => serveMetrics({ port: 0, host: '' })).to.throw(TypeError, 'host');
    expect(() => serveMetrics(null as never)).to.throw(TypeError, 'got null');
    expect(() => metricsHandler(null as never)).to.throw(TypeError, 'options must be an object, got null');
    expect(() => koaMetricsHandler(null as never)).to.throw(TypeError, 'options must be an object, got null');
  });

  it('serveMetrics on a taken port does not end the process when listening is not awaited', async () => {
    const first = serveMetrics({ port: 0, host: '127.0.0.1', registry: filledRegistry() });
    const { port } = await first.listening;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    const second = serveMetrics({ port, host: '127.0.0.1', registry: filledRegistry() });
    try {
      await new Promise<void>((resolve) => second.server.once('error', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 50)); // unhandled rejections are reported after a turn
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await first.close();
      await second.close();
    }
  });

  it('serveMetrics counts a server error after listening instead of throwing it', async () => {
    const registry = filledRegistry();
    const m = serveMetrics({ port: 0, host: '127.0.0.1', registry });
    try {
      await m.listening;
      m.server.emit('error', new Error('late fault'));
      expect(await registry.metrics()).to.contain('mesh_metrics_errors_total{kind="internal"} 1');
    } finally {
      await m.close();
    }
  });

  it('koaMetricsHandler passes every other request on', async () => {
    const app = new Koa();
    app.use(koaMetricsHandler({ registry: filledRegistry(), path: '/internal/metrics' }));
    const router = new Router();
    router.get('/metrics', (ctx) => {
      ctx.body = 'not the scrape';
    });
    app.use(router.routes());
    const s = await listen(app.callback());
    try {
      expect((await raw(`${s.url}/metrics`)).body.toString('utf8')).to.equal('not the scrape');
      expect((await raw(`${s.url}/internal/metrics`)).body.toString('utf8')).to.contain('mesh_http_server_request_duration_seconds_count');
      expect((await raw(`${s.url}/internal/metrics`, {}, 'POST')).status).to.equal(404);
    } finally {
      await s.close();
    }
  });

  it('serveMetrics answers 404 off its path and 405 for other methods, and closes', async () => {
    const m = serveMetrics({ port: 0, host: '127.0.0.1', path: '/scrape', registry: filledRegistry() });
    const { url, port } = await m.listening;
    expect(url).to.equal(`http://127.0.0.1:${port}/scrape`);
    expect((await raw(url)).status).to.equal(200);
    expect((await raw(`${url}?x=1`)).status).to.equal(200);
    expect((await raw(`http://127.0.0.1:${port}/metrics`)).status).to.equal(404);
    const post = await raw(url, {}, 'POST');
    expect(post.status).to.equal(405);
    expect(post.headers['allow']).to.equal('GET, HEAD');
    await m.close();
    expect(m.server.listening).to.equal(false);
    await m.close();
  });

  it('serveMetrics rejects listening when the port is taken', async () => {
    const first = serveMetrics({ port: 0, host: '127.0.0.1', registry: filledRegistry() });
    const { port } = await first.listening;
    const second = serveMetrics({ port, host: '127.0.0.1', registry: filledRegistry() });
    try {
      await second.listening.then(
        () => expect.fail('the second server should not listen'),
        (error: NodeJS.ErrnoException) => {
          expect(error.code).to.equal('EADDRINUSE');
          expect(error.message).to.equal(
            `serveMetrics could not listen on 127.0.0.1 port ${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
          );
        },
      );
    } finally {
      await first.close();
      await second.close();
    }
  });
});
