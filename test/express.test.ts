import { expect } from 'chai';
import express5, { type NextFunction, type Request, type Response } from 'express';
import express4 from 'express4';
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';
import { Registry } from './helpers/client.js';
import compression from 'compression';
import request from 'supertest';
import { meshMetrics, metricsHandler, type InboundOptions } from './helpers/internals.js';
import { sampleIn } from './helpers/exposition.js';
import { expressModes, type InboundMode } from './helpers/inbound-modes.js';
import { checkMixedTraffic } from './helpers/mixed-traffic.js';
import * as wire from './helpers/wire-traffic.js';
import {
  abortMidResponse,
  bulkClient,
  countsOf,
  inboundKey,
  leaveEarly,
  listen,
  until,
  type BulkClient,
  type Listening,
} from './helpers/inbound-traffic.js';

type Express = typeof express5;
type ExpressMode = InboundMode<ReturnType<Express>>;
const FAMILY = 'mesh_http_server_request_duration_seconds';
const SERVICE = 'orders';

const majors: [string, Express][] = [
  ['Express 4', express4 as unknown as Express],
  ['Express 5', express5],
];

function teapot(): Error {
  return Object.assign(new Error('short and stout'), { status: 418 });
}

/** The app of the traffic suite: nested routers, throws, streams, a handler that passes the request on. */
function trafficApp(mode: ExpressMode, express: Express, registry: Registry): ReturnType<Express> {
  const app = express();
  mode.measure(app, { registry, service: SERVICE });
  app.get('/metrics', metricsHandler({ registry }));

  const items = express.Router();
  items.get('/items/:itemId', (req: Request, res: Response) => {
    res.json({ user: req.baseUrl, item: req.params['itemId'] });
  });
  items.post('/items', (_req: Request, res: Response) => {
    res.status(201).end();
  });
  const users = express.Router();
  users.use('/users/:id', items);
  users.get('/orgs/:org/repos', (_req: Request, res: Response) => {
    res.send('repos');
  });
  users.get('/pass', (_req: Request, _res: Response, next: NextFunction) => next());
  app.use('/api', users);

  app.get('/sync-throw', () => {
    throw new Error('sync');
  });
  app.get('/async-throw', (_req: Request, _res: Response, next: NextFunction) => {
    void (async () => {
      await new Promise((r) => setImmediate(r));
      throw new Error('async');
    })().catch(next);
  });
  app.get('/teapot', (_req: Request, _res: Response, next: NextFunction) => next(teapot()));
  app.get('/stream', (_req: Request, res: Response) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    let n = 0;
    const tick = (): void => {
      if (++n > 3) {
        res.end('end\n');
        return;
      }
      res.write(`chunk ${n}\n`);
      setImmediate(tick);
    };
    tick();
  });
  app.get('/slow-stream', (_req: Request, res: Response) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first\n'); // and never more: the client goes away
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).send('failed');
  });
  return app;
}

/** The routes of `test/helpers/wire-traffic.ts` on an Express app measured with `options`. */
function wireHarness(mode: ExpressMode, express: Express): wire.WireHarness {
  return {
    start: (options: InboundOptions<{ readonly headers: IncomingHttpHeaders }>) => {
      const app = express();
      app.set('env', 'test');
      mode.measure(app, options);
      app.get('/json/:id', (req: Request, res: Response) => {
        res.json({ id: req.params['id'] });
      });
      app.get('/download', (_req: Request, res: Response) => {
        res.type('text/plain');
        res.write('a'.repeat(1000));
        res.write('b'.repeat(1000));
        setImmediate(() => res.end('c'.repeat(1000)));
      });
      app.get('/events', (_req: Request, res: Response) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.write('data: tick\n\n');
      });
      app.post('/upload', (req: Request, res: Response) => {
        req.on('data', () => {});
        req.on('end', () => res.send('ok'));
      });
      app.post('/ignore', (_req: Request, res: Response) => {
        res.send('no');
      });
      app.get('/gzip', compression({ threshold: 0 }), (_req: Request, res: Response) => {
        res.type('text/plain').send('x'.repeat(5000));
      });
      app.get('/boom', () => {
        throw new Error('boom');
      });
      const wss = new WebSocketServer({ noServer: true });
      app.get('/ws/:room', (req: Request) => {
        wss.handleUpgrade(req, req.socket, Buffer.alloc(0), (ws) => ws.send('hello'));
      });
      return listen(app).then((l) => {
        l.server.on('upgrade', (req: IncomingMessage) => app(req as Request, new ServerResponse(req) as Response));
        return l;
      });
    },
  };
}

/** Sends a GET over a raw socket and reads until the server closes the connection, without closing it first. */
function abortedByServer(port: number, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.resume();
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

interface LayerInternals {
  rawPath?: unknown;
  handle?: { stack?: LayerInternals[] };
  match(path: string): unknown;
}

/** Makes an app's layers look like an older router's: no stored pattern, no `pattern` in match results. */
function forgetPatterns(app: ReturnType<Express>): void {
  const root = ((app as unknown as { _router?: unknown })._router ?? app.router) as { stack: LayerInternals[] };
  const visit = (stack: LayerInternals[]): void => {
    for (const layer of stack) {
      if (layer.rawPath !== undefined) {
        delete layer.rawPath;
        const match = layer.match.bind(layer);
        layer.match = (path) => {
          const m = match(path);
          if (typeof m !== 'object' || m === null) return m;
          const { pattern: _unused, ...rest } = m as Record<string, unknown>;
          return rest;
        };
      }
      if (Array.isArray(layer.handle?.stack)) visit(layer.handle.stack);
    }
  };
  visit(root.stack);
}

for (const mode of expressModes) for (const [major, express] of majors) {
  describe(`${mode.name} on ${major}`, () => {
    describe('mixed traffic', () => {
      let registry: Registry;
      let server: Listening;
      let client: BulkClient;
      before(async () => {
        registry = new Registry();
        server = await listen(trafficApp(mode, express, registry));
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

    describe('first byte, body sizes, streams, custom labels, skip, OpenTelemetry names', () => {
      const h = wireHarness(mode, express);
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
      if (mode.name === 'instrumentExpress(server)') {
        it('leaves a WebSocket upgrade out: the server channel never publishes it', () => wire.checkWebSocket(h, false));
      } else {
        it('counts a WebSocket upgrade once, as 101, when its connection closes', () => wire.checkWebSocket(h));
      }
    });

    describe('route templates', () => {
      async function routeOf(build: (app: ReturnType<Express>) => void, path: string, status = 200): Promise<string[]> {
        const registry = new Registry();
        const app = express();
        app.set('env', 'test'); // the final handler's error log is noise here
        mode.measure(app, { registry, service: 's' });
        build(app);
        const server = await listen(app);
        try {
          await request(server.url).get(path).expect(status);
          const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          return [...countsOf(text, FAMILY).keys()];
        } finally {
          await server.close();
        }
      }
      const ok = (_req: Request, res: Response): void => {
        res.send('ok');
      };

      it('joins the mount paths of nested routers, never their concrete values', async () => {
        const inner = express.Router();
        inner.get('/c/:cId', ok);
        const middle = express.Router();
        middle.use('/b/:bId', inner);
        const keys = await routeOf((app) => app.use('/a/:aId', middle), '/a/1/b/2/c/3');
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/a/:aId/b/:bId/c/:cId', 200)]);
      });

      it('finds which segment holds a parameter when several carry the same value', async () => {
        const r = express.Router();
        r.get('/x', ok);
        const keys = await routeOf((app) => app.use('/:org/repos/:repo', r), '/repos/repos/repos/x');
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/:org/repos/:repo/x', 200)]);
      });

      it('reads a mount pattern back from a concrete match when the router keeps only a RegExp', async () => {
        const r = express.Router();
        r.get('/x', ok);
        const keys = await routeOf((app) => app.use('/:org/repos/:repo/:name.:ext', r), '/repos/repos/repos/a.b/x');
        // Express 5 keeps the pattern; Express 4's RegExp for `:name.:ext` is recovered as one `*` segment.
        const template = major === 'Express 5' ? '/:org/repos/:repo/:name.:ext/x' : '/:org/repos/:repo/*/x';
        expect(keys).to.deep.equal([inboundKey('s', 'GET', template, 200)]);
      });

      it('recovers mount patterns when the layers keep none (as routers before 2.3 do)', async () => {
        const r = express.Router();
        r.get('/x', ok);
        const keys = await routeOf((app) => {
          app.use('/:org/repos/:repo', r);
          forgetPatterns(app);
        }, '/repos/repos/repos/x');
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/:org/repos/:repo/x', 200)]);
      });

      /** The route labels of several requests to one app, as exposed (backslashes escaped). */
      async function routesOf(build: (app: ReturnType<Express>) => void, paths: string[]): Promise<Record<string, number>> {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 's' });
        build(app);
        const server = await listen(app);
        try {
          for (const path of paths) await request(server.url).get(path).expect(200);
          const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          return Object.fromEntries(countsOf(text, FAMILY));
        } finally {
          await server.close();
        }
      }
      const escaped = (route: string): string => route.replace(/\\/g, '\\\\');

      it('labels a RegExp mount by its pattern, never by the first concrete path it matched', async () => {
        const r = express.Router();
        r.get('/profile', ok);
        const counts = await routesOf((app) => app.use(/^\/u\/\d+/, r), ['/u/12345/profile', '/u/99999/profile']);
        expect(counts).to.deep.equal({ [inboundKey('s', 'GET', escaped('/^\\/u\\/\\d+/profile'), 200)]: 2 });
      });

      it('never labels an array mount by the alternative that happened to match first', async () => {
        const r = express.Router();
        r.get('/x', ok);
        const counts = await routesOf((app) => app.use(['/a', '/b'], r), ['/a/x', '/b/x', '/a/x']);
        // Express 5 reports the alternative that matched; Express 4 keeps only one RegExp for all of them.
        const want =
          major === 'Express 5'
            ? { [inboundKey('s', 'GET', '/a/x', 200)]: 2, [inboundKey('s', 'GET', '/b/x', 200)]: 1 }
            : { [inboundKey('s', 'GET', escaped('/^\\/a\\/?(?=\\/|$)|^\\/b\\/?(?=\\/|$)/i/x'), 200)]: 3 };
        expect(counts).to.deep.equal(want);
      });

      it('gives the mount path for a router root and "/" for the app root', async () => {
        const r = express.Router();
        r.get('/', ok);
        expect(await routeOf((app) => app.use('/shop', r), '/shop')).to.deep.equal([
          inboundKey('s', 'GET', '/shop', 200),
        ]);
        expect(await routeOf((app) => app.get('/', ok), '/')).to.deep.equal([inboundKey('s', 'GET', '/', 200)]);
      });

      it('includes routers mounted without a path and sub-applications', async () => {
        const r = express.Router();
        r.get('/plain', ok);
        expect(await routeOf((app) => app.use(r), '/plain')).to.deep.equal([inboundKey('s', 'GET', '/plain', 200)]);
        const admin = express();
        admin.get('/users/:id', ok);
        expect(await routeOf((app) => app.use('/admin', admin), '/admin/users/5')).to.deep.equal([
          inboundKey('s', 'GET', '/admin/users/:id', 200),
        ]);
      });

      it('uses the route that threw when the framework answers the error itself', async () => {
        const keys = await routeOf(
          (app) =>
            app.get('/items/:id', () => {
              throw new Error('no handler for this');
            }),
          '/items/9',
          500,
        );
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/items/:id', 500)]);
      });

      it('keeps a 404 that a route sends itself on that route', async () => {
        const keys = await routeOf(
          (app) =>
            app.get('/users/:id', (_req: Request, res: Response) => {
              res.status(404).send('no such user');
            }),
          '/users/404',
          404,
        );
        expect(keys).to.deep.equal([inboundKey('s', 'GET', '/users/:id', 404)]);
      });
    });

    describe('streaming', () => {
      it('records a streamed response at its last byte, not when its headers went out', async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 's' });
        let entered!: () => void;
        const headersOut = new Promise<void>((r) => (entered = r));
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        app.get('/feed/:id', (_req: Request, res: Response) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('first\n', () => entered());
          void released.then(() => res.end('last\n'));
        });
        const server = await listen(app);
        const client = bulkClient(server.url);
        try {
          const reply = client.send('GET', '/feed/1');
          await headersOut;
          const during = await registry.metrics();
          expect(sampleIn(during, 'mesh_http_server_requests_in_flight{service="s"}')).to.equal(1);
          expect(countsOf(during, FAMILY).size).to.equal(0);
          release();
          expect(await reply).to.deep.equal({ status: 200, body: 'first\nlast\n' });
          const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({ [inboundKey('s', 'GET', '/feed/:id', 200)]: 1 });
        } finally {
          client.close();
          await server.close();
        }
      });
    });

    describe('options and faults', () => {
      it('leaves excluded paths out: strings, RegExps and predicates', async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, {
          registry,
          service: 's',
          exclude: ['/health', /^\/static\//, (req) => req.headers['x-synthetic'] === '1'],
        });
        app.get('/health', (_req: Request, res: Response) => {
          res.send('up');
        });
        app.get('/metrics', metricsHandler({ registry }));
        app.get('/static/:file', (_req: Request, res: Response) => {
          res.send('file');
        });
        app.get('/work', (_req: Request, res: Response) => {
          res.send('done');
        });
        const server = await listen(app);
        try {
          await request(server.url).get('/health?probe=1').expect(200);
          await request(server.url).get('/static/app.js').expect(200);
          await request(server.url).get('/work').set('x-synthetic', '1').expect(200);
          await request(server.url).get('/work').expect(200);
          await request(server.url).get('/metrics').expect(200); // measured: the exclude list replaced the default
          const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
            [inboundKey('s', 'GET', '/work', 200)]: 1,
            [inboundKey('s', 'GET', '/metrics', 200)]: 1,
          });
        } finally {
          await server.close();
        }
      });

      it('counts its own faults and never disturbs the request', async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, {
          registry,
          service: 's',
          exclude: [
            () => {
              throw new Error('predicate bug');
            },
          ],
        });
        app.get('/odd', (req: Request, res: Response) => {
          Object.defineProperty(req, 'route', {
            get() {
              throw new Error('hostile route');
            },
          });
          res.send('still fine');
        });
        const server = await listen(app);
        try {
          await request(server.url).get('/odd').expect(200, 'still fine');
          const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(2);
          expect(countsOf(text, FAMILY).size).to.equal(0);
        } finally {
          await server.close();
        }
      });

      it('measures a request once when the same middleware is met twice', async () => {
        const registry = new Registry();
        const mw = meshMetrics({ registry, service: 's' });
        const app = express();
        app.use(mw);
        const r = express.Router();
        r.use(mw);
        r.get('/twice', (_req: Request, res: Response) => {
          res.send('ok');
        });
        app.use('/r', r);
        await request(app).get('/r/twice').expect(200);
        const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
        expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({ [inboundKey('s', 'GET', '/r/twice', 200)]: 1 });
      });

      it('measures a request once when an app and its sub-app each mount an instance on one registry', async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 's' });
        const admin = express();
        admin.use(meshMetrics({ registry, service: 's' }));
        admin.get('/users/:id', (_req: Request, res: Response) => {
          res.send('ok');
        });
        app.use('/admin', admin);
        const server = await listen(app);
        try {
          await request(server.url).get('/admin/users/7').expect(200);
        } finally {
          await server.close();
        }
        const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
        expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
          [inboundKey('s', 'GET', '/admin/users/:id', 200)]: 1,
        });
      });

      it('records 500, not 499, when the server abandons a response after an error mid-body', async () => {
        const registry = new Registry();
        const app = express();
        app.set('env', 'test'); // the final handler's error log is noise here
        mode.measure(app, { registry, service: 's' });
        app.get('/partial/:id', (_req: Request, res: Response, next: NextFunction) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('part\n', () => next(new Error('failed mid-body'))); // the final handler destroys the socket
        });
        app.get('/slow-stream', (_req: Request, res: Response) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('first\n'); // and never more: the client goes away
        });
        const server = await listen(app);
        try {
          await abortedByServer(server.port, '/partial/1');
          await abortMidResponse(server.port, '/slow-stream');
          const text = await until(registry, (t) => countsOf(t, FAMILY).size === 2 &&
            sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
          expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
            [inboundKey('s', 'GET', '/partial/:id', 500)]: 1,
            [inboundKey('s', 'GET', '/slow-stream', 499)]: 1,
          });
        } finally {
          await server.close();
        }
      });

      it('records 499 for a client that left before the request reached it', async () => {
        const registry = new Registry();
        const app = express();
        app.use((_req: Request, res: Response, next: NextFunction) => {
          res.on('close', () => next()); // a slow middleware: lets the request through only after the client left
        });
        mode.measure(app, { registry, service: 's' });
        app.get('/late', (_req: Request, res: Response) => {
          res.send('too late');
        });
        const server = await listen(app);
        try {
          await leaveEarly(server.port, '/late');
          const text = await until(registry, (t) => countsOf(t, FAMILY).size > 0);
          expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
            [inboundKey('s', 'GET', '__unmatched__', 499)]: 1,
          });
          expect(sampleIn(text, 'mesh_http_server_requests_in_flight{service="s"}')).to.equal(0);
        } finally {
          await server.close();
        }
      });

      it('takes the service from MESH_SERVICE_NAME, else unknown_service', async () => {
        const saved = process.env['MESH_SERVICE_NAME'];
        try {
          process.env['MESH_SERVICE_NAME'] = 'from-env';
          const registry = new Registry();
          meshMetrics({ registry });
          delete process.env['MESH_SERVICE_NAME'];
          meshMetrics({ registry });
          const app = express();
          mode.measure(app, { registry, prefix: 'other_' });
          app.get('/', (_req: Request, res: Response) => {
            res.send('ok');
          });
          const server = await listen(app);
          try {
            await request(server.url).get('/').expect(200);
          } finally {
            await server.close();
          }
          const text = await until(registry, (t) => sampleIn(t, 'other_http_server_requests_in_flight{service="unknown_service"}') === 0);
          expect(sampleIn(text, 'mesh_http_server_requests_in_flight{service="from-env"}')).to.equal(undefined);
          expect(countsOf(text, 'other_http_server_request_duration_seconds').get(inboundKey('unknown_service', 'GET', '/', 200))).to.equal(1);
        } finally {
          if (saved === undefined) delete process.env['MESH_SERVICE_NAME'];
          else process.env['MESH_SERVICE_NAME'] = saved;
        }
      });
    });
  });
}

describe('meshMetrics options', () => {
  it('throws a TypeError naming a bad option', () => {
    const registry = new Registry();
    expect(() => meshMetrics({ registry, exclude: [42 as never] })).to.throw(TypeError, 'exclude[0]').and.match(/42/);
    expect(() => meshMetrics({ registry, exclude: [''] })).to.throw(TypeError, 'exclude[0]');
    expect(() => meshMetrics({ registry, exclude: '/metrics' as never })).to.throw(TypeError, 'exclude must be an array');
    expect(() => meshMetrics({ registry, service: '' })).to.throw(TypeError, 'service must be a non-empty string, got ""');
    expect(() => meshMetrics({ registry, prefix: '9bad' })).to.throw(TypeError, '"9bad"');
    expect(() => meshMetrics(null as never)).to.throw(TypeError, 'options must be an object, got null');
    expect(() => meshMetrics(5 as never)).to.throw(TypeError, 'options must be an object, got 5');
  });

  it('checks labels, skip and families at construction, naming the bad value', () => {
    const registry = new Registry();
    const values = () => ({});
    expect(() => meshMetrics({ registry, labels: { names: ['route'], values } })).to.throw(TypeError, 'labels.names[0] is a built-in label: "route"');
    expect(() => meshMetrics({ registry, labels: { names: ['http_route'], values } })).to.throw(TypeError, 'built-in label');
    expect(() => meshMetrics({ registry, labels: { names: ['le'], values } })).to.throw(TypeError, 'built-in label');
    expect(() => meshMetrics({ registry, labels: { names: ['a-b'], values } })).to.throw(TypeError, 'labels.names[0] must be a Prometheus label name').and.match(/"a-b"/);
    expect(() => meshMetrics({ registry, labels: { names: ['__x'], values } })).to.throw(TypeError, 'no leading __');
    expect(() => meshMetrics({ registry, labels: { names: ['t', 't'], values } })).to.throw(TypeError, 'labels.names[1] repeats "t"');
    expect(() => meshMetrics({ registry, labels: { names: ['a', 'b', 'c', 'd', 'e'], values } })).to.throw(TypeError, '1 to 4 label names');
    expect(() => meshMetrics({ registry, labels: { names: [], values } })).to.throw(TypeError, 'labels.names');
    expect(() => meshMetrics({ registry, labels: { names: ['t'], values: 'x' as never } })).to.throw(TypeError, 'labels.values must be a function, got "x"');
    expect(() => meshMetrics({ registry, labels: 'tenant' as never })).to.throw(TypeError, 'labels must be { names, values }, got "tenant"');
    expect(() => meshMetrics({ registry, skip: true as never })).to.throw(TypeError, 'skip must be a function, got true');
    expect(() => meshMetrics({ registry, families: { sizes: false } as never })).to.throw(TypeError, 'families.sizes is not an optional family');
    expect(() => meshMetrics({ registry, families: { firstByte: 0 } as never })).to.throw(TypeError, 'families.firstByte must be a boolean, got 0');
  });

  it('leaves the optional families out when turned off', async () => {
    const registry = new Registry();
    const app = express5();
    app.use(meshMetrics({ registry, service: 's', families: { firstByte: false, bodySizes: false } }));
    app.get('/x', (_req: Request, res: Response) => {
      res.send('ok');
    });
    await request(app).get('/x').expect(200);
    const text = await until(registry, (t) => sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
    expect(text).not.to.include('first_byte');
    expect(text).not.to.include('body_size');
    expect(sampleIn(text, `${FAMILY}_count${inboundKey('s', 'GET', '/x', 200)}`)).to.equal(1);
  });
});
