import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';
import { PassThrough, Readable } from 'node:stream';
import { Registry } from './helpers/client.js';
import compress from 'koa-compress';
import request from 'supertest';
import { koaMeshMetrics, koaMetricsHandler, type InboundOptions, type KoaLabelContext } from './helpers/internals.js';
import { sampleIn } from './helpers/exposition.js';
import { koaModes, type InboundMode } from './helpers/inbound-modes.js';
import { checkMixedTraffic } from './helpers/mixed-traffic.js';
import * as wire from './helpers/wire-traffic.js';
import {
  bulkClient,
  countsOf,
  inboundKey,
  listen,
  until,
  type BulkClient,
  type Listening,
} from './helpers/inbound-traffic.js';

const require = createRequire(import.meta.url);
const Koa2 = require('koa2') as typeof Koa;

type KoaMode = InboundMode<Koa, KoaLabelContext>;
const FAMILY = 'mesh_http_server_request_duration_seconds';
const SERVICE = 'catalog';

const majors: [string, typeof Koa][] = [
  ['Koa 2', Koa2],
  ['Koa 3', Koa],
];

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** The app of the traffic suite: prefixed and nested routers, throws, streams, a route that passes the request on. */
function trafficApp(mode: KoaMode, KoaApp: typeof Koa, registry: Registry): Koa {
  const app = new KoaApp();
  app.silent = true;
  mode.measure(app, { registry, service: SERVICE });
  app.use(koaMetricsHandler({ registry }));

  const items = new Router();
  items.get('/items/:itemId', (ctx) => {
    ctx.body = { item: ctx.params['itemId'] };
  });
  items.post('/items', (ctx) => {
    ctx.status = 201;
  });
  const api = new Router({ prefix: '/api' });
  api.use('/users/:id', items.routes());
  api.get('/orgs/:org/repos', (ctx) => {
    ctx.body = 'repos';
  });
  api.get('/pass', async (_ctx, next) => {
    await next();
  });

  const root = new Router();
  root.get('/sync-throw', () => {
    throw new Error('sync');
  });
  root.get('/async-throw', async () => {
    await tick();
    throw new Error('async');
  });
  root.get('/teapot', (ctx) => ctx.throw(418, 'short and stout'));
  root.get('/stream', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = Readable.from(['chunk 1\n', 'chunk 2\n', 'chunk 3\n', 'end\n']);
  });
  root.get('/slow-stream', (ctx) => {
    const body = new PassThrough();
    body.write('first\n'); // and never more: the client goes away
    ctx.type = 'text/plain';
    ctx.body = body;
  });
  app.use(api.routes());
  app.use(root.routes());
  return app;
}

/** The routes of `test/helpers/wire-traffic.ts` on a Koa app measured with `options`. */
function wireHarness(mode: KoaMode, KoaApp: typeof Koa): wire.WireHarness {
  return {
    start: (options: InboundOptions<{ readonly headers: IncomingHttpHeaders }>) => {
      const app = new KoaApp();
      app.silent = true;
      mode.measure(app, options);
      const router = new Router();
      router.get('/json/:id', (ctx) => {
        ctx.body = { id: ctx.params['id'] };
      });
      router.get('/download', (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = Readable.from(['a'.repeat(1000), 'b'.repeat(1000), 'c'.repeat(1000)]);
      });
      router.get('/events', (ctx) => {
        const body = new PassThrough();
        ctx.type = 'text/event-stream';
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = body;
        body.write('data: tick\n\n');
      });
      router.post('/upload', async (ctx) => {
        for await (const _chunk of ctx.req) {
          // read it all
        }
        ctx.body = 'ok';
      });
      router.post('/ignore', (ctx) => {
        ctx.body = 'no';
      });
      router.get('/gzip', compress({ threshold: 0 }), (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = 'x'.repeat(5000);
      });
      router.get('/boom', () => {
        throw new Error('boom');
      });
      const wss = new WebSocketServer({ noServer: true });
      router.get('/ws/:room', (ctx) => {
        ctx.respond = false;
        wss.handleUpgrade(ctx.req, ctx.req.socket, Buffer.alloc(0), (ws) => ws.send('hello'));
      });
      app.use(router.routes());
      const callback = app.callback();
      return listen(callback).then((l) => {
        l.server.on('upgrade', (req: IncomingMessage) => void callback(req, new ServerResponse(req)));
        return l;
      });
    },
  };
}

for (const mode of koaModes) for (const [major, KoaApp] of majors) {
  describe(`${mode.name} on ${major}`, () => {
    describe('first byte, body sizes, streams, custom labels, skip, OpenTelemetry names', () => {
      const h = wireHarness(mode, KoaApp);
      it('records first byte and body sizes of JSON, HEAD, chunked, gzip and uploaded bodies exactly', () => wire.checkBodySizes(h));
      it('counts an event stream held 5 s once, timed to its head, with status 200', async function () {
        this.timeout(15_000);
        await wire.checkEventStream(h);
      });
      it('records an aborted upload as 499 with the bytes that arrived and no first byte', () => wire.checkAbortedUpload(h));
      it('renders each family with its own buckets', () => wire.checkBucketsPerFamily(h));
      it('adds custom labels through the label guard; a faulty values function is counted as internal', () => wire.checkCustomLabels(h));
      it('skips requests after the response and counts them per family', () => wire.checkSkip(h));
      it("emits OpenTelemetry's names and attributes with naming: 'otel'", () => wire.checkOtelNaming(h));
      it('counts a WebSocket upgrade once, as 101, when its connection closes', () => wire.checkWebSocket(h));
    });

    describe('mixed traffic', () => {
      let registry: Registry;
      let server: Listening;
      let client: BulkClient;
      before(async () => {
        registry = new Registry();
        server = await listen(trafficApp(mode, KoaApp, registry).callback());
        client = bulkClient(server.url);
      });
      after(async () => {
        client.close();
        await server.close();
      });

      it('counts 1,000+ requests exactly once each, by route template, method and status', async () => {
        await checkMixedTraffic(SERVICE, registry, server, client);
      });
    });

    describe('route templates and status', () => {
      /** One request through an app with `build`'s routes; the series it left. */
      async function seriesOf(
        build: (app: Koa, router: Router) => void,
        path: string,
        status: number,
        outer?: Koa.Middleware,
      ): Promise<string[]> {
        const registry = new Registry();
        const app = new KoaApp();
        app.silent = true;
        if (outer !== undefined) app.use(outer);
        mode.measure(app, { registry, service: 's' });
        const router = new Router();
        build(app, router);
        app.use(router.routes());
        await request(app.callback()).get(path).expect(status);
        const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
        return [...countsOf(text, FAMILY).keys()];
      }

      it('joins prefixes and nested routers into one template', async () => {
        const keys = await seriesOf(
          (_app, router) => {
            const inner = new Router();
            inner.get('/c/:cId', (ctx) => {
              ctx.body = 'ok';
            });
            const middle = new Router({ prefix: '/b/:bId' });
            middle.use(inner.routes());
            router.use('/a/:aId', middle.routes());
          },
          '/a/1/b/2/c/3',
          200,
        );
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/a/:aId/b/:bId/c/:cId', 200)]);
      });

      it('records a thrown error\'s status, else 500, with the route', async () => {
        const thrower = (error: unknown) => (router: Router) =>
          router.get('/x/:id', () => {
            throw error;
          });
        expect(await seriesOf((_a, r) => thrower(Object.assign(new Error('gone'), { status: 410 }))(r), '/x/1', 410)).to.deep.equal([
          inboundKey('s', 'GET', '/x/:id', 410),
        ]);
        expect(await seriesOf((_a, r) => thrower(new Error('plain'))(r), '/x/1', 500)).to.deep.equal([
          inboundKey('s', 'GET', '/x/:id', 500),
        ]);
        expect(await seriesOf((_a, r) => thrower({ status: 'odd' })(r), '/x/1', 500)).to.deep.equal([
          inboundKey('s', 'GET', '/x/:id', 500),
        ]);
      });

      it('records what an outer error middleware answered', async () => {
        const outer: Koa.Middleware = async (ctx, next) => {
          try {
            await next();
          } catch {
            ctx.status = 503;
            ctx.body = 'try later';
          }
        };
        const keys = await seriesOf(
          (_a, r) =>
            r.get('/busy', () => {
              throw new Error('busy');
            }),
          '/busy',
          503,
          outer,
        );
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/busy', 503)]);
      });

      it('keeps a 404 a route sets itself on that route', async () => {
        const keys = await seriesOf(
          (_a, r) =>
            r.get('/users/:id', (ctx) => {
              ctx.status = 404;
              ctx.body = 'no such user';
            }),
          '/users/404',
          404,
        );
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/users/:id', 404)]);
      });
    });
  });
}

for (const mode of koaModes) describe(`${mode.name} streaming`, () => {
  for (const [major, KoaApp] of majors) {
    it(`records a streamed body at its last byte on ${major}`, async () => {
      const registry = new Registry();
      const app = new KoaApp();
      mode.measure(app, { registry, service: 's' });
      const body = new PassThrough();
      let entered!: () => void;
      const headersOut = new Promise<void>((r) => (entered = r));
      const router = new Router();
      router.get('/feed/:id', (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = body;
        body.write('first\n', () => entered());
      });
      app.use(router.routes());
      const server = await listen(app.callback());
      const client = bulkClient(server.url);
      try {
        const reply = client.send('GET', '/feed/1');
        await headersOut;
        const during = await registry.metrics();
        expect(sampleIn(during, 'mesh_http_server_requests_in_flight{service="s"}')).to.equal(1);
        expect(countsOf(during, FAMILY).size).to.equal(0);
        body.end('last\n');
        expect(await reply).to.deep.equal({ status: 200, body: 'first\nlast\n' });
        const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
        expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({ [inboundKey('s', 'GET', '/feed/:id', 200)]: 1 });
      } finally {
        client.close();
        await server.close();
      }
    });
  }
});

describe('koaMeshMetrics options', () => {
  it('throws a TypeError naming a bad option', () => {
    const registry = new Registry();
    expect(() => koaMeshMetrics({ registry, exclude: [null as never] })).to.throw(TypeError, 'exclude[0]');
    expect(() => koaMeshMetrics({ registry, service: 7 as never })).to.throw(TypeError, 'got 7');
    expect(() => koaMeshMetrics({ registry, buckets: [1, 0.5] })).to.throw(TypeError, 'buckets');
    expect(() => koaMeshMetrics(null as never)).to.throw(TypeError, 'options must be an object, got null');
    expect(() => koaMetricsHandler(null as never)).to.throw(TypeError, 'options must be an object, got null');
    expect(() => koaMetricsHandler('x' as never)).to.throw(TypeError, 'options must be an object, got "x"');
  });

});

for (const mode of koaModes) describe(`${mode.name} instances and exclusions`, () => {
  it('measures a request once when two instances on one registry are mounted', async () => {
    const registry = new Registry();
    const app = new Koa();
    mode.measure(app, { registry, service: 's' });
    mode.measure(app, { registry, service: 's' });
    const router = new Router();
    router.get('/things/:id', (ctx) => {
      ctx.body = 'ok';
    });
    app.use(router.routes());
    const server = await listen(app.callback());
    try {
      await request(server.url).get('/things/3').expect(200);
      const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
      expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
        [inboundKey('s', 'GET', '/things/:id', 200)]: 1,
      });
    } finally {
      await server.close();
    }
  });

  it('leaves excluded requests out and counts a predicate fault without failing the request', async () => {
    const registry = new Registry();
    const app = new Koa();
    mode.measure(app, {
      registry,
      service: 's',
      exclude: [
        /^\/internal\//,
        (req) => {
          if (req.url === '/bug') throw new Error('predicate bug');
          return false;
        },
      ],
    });
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const server = await listen(app.callback());
    try {
      await request(server.url).get('/internal/state').expect(200);
      await request(server.url).get('/bug').expect(200, 'ok');
      const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
      expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
        [inboundKey('s', 'GET', '__unmatched__', 200)]: 1,
      });
      expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
    } finally {
      await server.close();
    }
  });
});
