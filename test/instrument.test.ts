import Router from '@koa/router';
import { expect } from 'chai';
import express, { type Request, type Response } from 'express';
import Koa from 'koa';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createSecureServer } from 'node:http2';
import { connect, createServer as createNetServer } from 'node:net';
import { Registry } from './helpers/client.js';
import request from 'supertest';
import { instrumentExpress, instrumentKoa, koaMeshMetrics, meshMetrics } from '../index.js';
import { sampleIn } from './helpers/exposition.js';
import { koaModes } from './helpers/inbound-modes.js';
import { countsOf, inboundKey, listen, until, type Listening } from './helpers/inbound-traffic.js';

const FAMILY = 'mesh_http_server_request_duration_seconds';

function helloApp(): ReturnType<typeof express> {
  const app = express();
  app.get('/hello/:name', (_req: Request, res: Response) => {
    res.send('hi');
  });
  return app;
}

/** The exposition once every request of `service` is done. */
function settled(registry: Registry, service: string): Promise<string> {
  return until(registry, (t) => sampleIn(t, `mesh_http_server_requests_in_flight{service="${service}"}`) === 0);
}

/** Sends a GET over a raw socket and closes it at the first bytes of the response. */
function leaveAtFirstByte(port: number, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    socket.once('data', () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

describe("Node's http.server channels (what instrumentExpress(server) relies on)", () => {
  it('publishes request.start with the server for every request, response.finish only for finished ones', async () => {
    const events: string[] = [];
    let closed!: () => void;
    const openClosed = new Promise<void>((r) => (closed = r));
    const app = express();
    app.get('/done/:id', (_req: Request, res: Response) => {
      res.send('ok');
    });
    app.get('/open/:id', (_req: Request, res: Response) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first\n'); // and never more: the client goes away
      res.on('close', () => {
        events.push('close /open/1');
        closed();
      });
    });
    const served = await listen(app);
    const onStart = (m: unknown): void => {
      const { request: req, server } = m as { request: { url: string }; server: unknown };
      if (server === served.server) events.push(`start ${req.url}`);
    };
    const onFinish = (m: unknown): void => {
      const { request: req, server } = m as { request: { url: string; route?: { path: string } }; server: unknown };
      if (server === served.server) events.push(`finish ${req.url} route=${String(req.route?.path)}`);
    };
    subscribe('http.server.request.start', onStart);
    subscribe('http.server.response.finish', onFinish);
    try {
      await request(served.url).get('/done/1').expect(200);
      await leaveAtFirstByte(served.port, '/open/1');
      await openClosed;
      await new Promise((r) => setImmediate(r));
      expect(events).to.deep.equal(['start /done/1', 'finish /done/1 route=/done/:id', 'start /open/1', 'close /open/1']);
    } finally {
      unsubscribe('http.server.request.start', onStart);
      unsubscribe('http.server.response.finish', onFinish);
      await served.close();
    }
  });
});

describe('instrumentExpress', () => {
  const servers: Listening[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('measures only the instrumented app; two apps on two servers keep their own service and registry', async () => {
    const [ordersRegistry, usersRegistry] = [new Registry(), new Registry()];
    const orders = helloApp();
    const users = helloApp();
    const plain = helloApp();
    instrumentExpress(orders, { registry: ordersRegistry, service: 'orders' });
    instrumentExpress(users, { registry: usersRegistry, service: 'users' });
    const [o, u, p] = [await listen(orders), await listen(users), await listen(plain)];
    servers.push(o, u, p);
    await request(o.url).get('/hello/a').expect(200);
    await request(u.url).get('/hello/b').expect(200);
    await request(u.url).get('/hello/c').expect(200);
    await request(p.url).get('/hello/d').expect(200);
    expect(Object.fromEntries(countsOf(await settled(ordersRegistry, 'orders'), FAMILY))).to.deep.equal({
      [inboundKey('orders', 'GET', '/hello/:name', 200)]: 1,
    });
    expect(Object.fromEntries(countsOf(await settled(usersRegistry, 'users'), FAMILY))).to.deep.equal({
      [inboundKey('users', 'GET', '/hello/:name', 200)]: 2,
    });
  });

  it('measures an app served through a wrapper function, and a server given directly, each on its own', async () => {
    const [appRegistry, serverRegistry] = [new Registry(), new Registry()];
    const app = helloApp();
    instrumentExpress(app, { registry: appRegistry, service: 'byapp' }); // its own entry: whatever calls the app
    const wrapped = await listen((req, res) => app(req, res));
    const bare = await listen((_req, res) => void res.end('plain'));
    const other = await listen((_req, res) => void res.end('not measured'));
    servers.push(wrapped, bare, other);
    instrumentExpress(bare.server, { registry: serverRegistry, service: 'byserver' });
    await request(wrapped.url).get('/hello/x').expect(200);
    await request(bare.url).get('/anything').expect(200, 'plain');
    await request(other.url).get('/anything').expect(200, 'not measured');
    expect(Object.fromEntries(countsOf(await settled(appRegistry, 'byapp'), FAMILY))).to.deep.equal({
      [inboundKey('byapp', 'GET', '/hello/:name', 200)]: 1,
    });
    expect(Object.fromEntries(countsOf(await settled(serverRegistry, 'byserver'), FAMILY))).to.deep.equal({
      [inboundKey('byserver', 'GET', '__unmatched__', 200)]: 1,
    });
  });

  it('measures an Express app through its server: templates, 404s, throws, exclusions, aborts', async () => {
    const registry = new Registry();
    const app = express();
    app.set('env', 'test'); // the final handler's error log is noise here
    const users = express.Router();
    users.get('/orders/:orderId', (_req: Request, res: Response) => {
      res.send('order');
    });
    app.use('/users/:id', users);
    app.get('/health', (_req: Request, res: Response) => {
      res.send('up');
    });
    app.get('/throw', () => {
      throw new Error('sync');
    });
    app.get('/slow', (_req: Request, res: Response) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first\n'); // and never more: the client goes away
    });
    const server = await listen(app);
    servers.push(server);
    instrumentExpress(server.server, { registry, service: 's', exclude: ['/health'] });
    await request(server.url).get('/users/7/orders/9').expect(200);
    await request(server.url).get('/users/8/orders/1?x=1').expect(200);
    await request(server.url).get('/nowhere/42').expect(404);
    await request(server.url).get('/throw').expect(500);
    await request(server.url).get('/health').expect(200);
    await leaveAtFirstByte(server.port, '/slow');
    const text = await until(registry, (t) => countsOf(t, FAMILY).size === 4 && sampleIn(t, 'mesh_http_server_requests_in_flight{service="s"}') === 0);
    expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
      [inboundKey('s', 'GET', '/users/:id/orders/:orderId', 200)]: 2,
      [inboundKey('s', 'GET', '__unmatched__', 404)]: 1,
      [inboundKey('s', 'GET', '/throw', 500)]: 1,
      [inboundKey('s', 'GET', '/slow', 499)]: 1,
    });
  });

  it('measures a sub-application alone when only it is instrumented', async () => {
    const registry = new Registry();
    const app = express();
    const admin = express();
    admin.get('/users/:id', (_req: Request, res: Response) => {
      res.send('ok');
    });
    app.use('/admin', admin);
    app.get('/public', (_req: Request, res: Response) => {
      res.send('ok');
    });
    instrumentExpress(admin, { registry, service: 's' });
    await request(app).get('/admin/users/3').expect(200);
    await request(app).get('/public').expect(200);
    expect(Object.fromEntries(countsOf(await settled(registry, 's'), FAMILY))).to.deep.equal({
      [inboundKey('s', 'GET', '/admin/users/:id', 200)]: 1,
    });
  });

  it('starts with the next request when instrumented late, and stops at dispose(), app or server', async () => {
    const registry = new Registry();
    const app = helloApp();
    const handle = (app as unknown as { handle: unknown }).handle;
    const server = await listen(app);
    servers.push(server);
    await request(server.url).get('/hello/before').expect(200);
    const byApp = instrumentExpress(app, { registry, service: 'a' });
    const byServer = instrumentExpress(server.server, { registry, service: 'b', prefix: 'server_' });
    await request(server.url).get('/hello/during').expect(200);
    await settled(registry, 'a');
    byApp.dispose();
    byApp.dispose(); // twice is harmless
    byServer.dispose();
    expect((app as unknown as { handle: unknown }).handle).to.equal(handle);
    await request(server.url).get('/hello/after').expect(200);
    const text = await settled(registry, 'a');
    expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({ [inboundKey('a', 'GET', '/hello/:name', 200)]: 1 });
    expect(Object.fromEntries(countsOf(text, 'server_http_server_request_duration_seconds'))).to.deep.equal({
      [inboundKey('b', 'GET', '/hello/:name', 200)]: 1,
    });
  });

  it('measures a request once with the middleware or a second instrumentation on the same registry', async () => {
    const registry = new Registry();
    const app = express();
    instrumentExpress(app, { registry, service: 's' });
    instrumentExpress(app, { registry, service: 's' });
    app.use(meshMetrics({ registry, service: 's' }));
    app.get('/once', (_req: Request, res: Response) => {
      res.send('ok');
    });
    await request(app).get('/once').expect(200);
    expect(Object.fromEntries(countsOf(await settled(registry, 's'), FAMILY))).to.deep.equal({
      [inboundKey('s', 'GET', '/once', 200)]: 1,
    });
  });

  it('throws a TypeError naming a bad target or option', () => {
    const registry = new Registry();
    expect(() => instrumentExpress('app' as never, { registry })).to.throw(TypeError, 'target must be an Express app or an http/https server, got "app"');
    expect(() => instrumentExpress({} as never, { registry })).to.throw(TypeError, 'target must be an Express app');
    expect(() => instrumentExpress(null as never)).to.throw(TypeError, 'got null');
    expect(() => instrumentExpress(createNetServer() as never)).to.throw(TypeError, 'http/https server'); // not HTTP
    expect(() => instrumentExpress(createSecureServer() as never)).to.throw(TypeError, 'http/https server'); // HTTP/2
    expect(() => instrumentExpress(express.Router() as never)).to.throw(TypeError, 'Express app'); // a router: use the middleware
    expect(() => instrumentExpress(helloApp(), { registry, service: '' })).to.throw(TypeError, 'service must be a non-empty string');
    expect(() => instrumentExpress(helloApp(), { registry, exclude: [3 as never] })).to.throw(TypeError, 'exclude[0]');
  });
});

describe('instrumentKoa', () => {
  function koaApp(): Koa {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/things/:id', (ctx) => {
      ctx.body = 'ok';
    });
    app.use(router.routes());
    return app;
  }

  it('measures only the instrumented app, and leaves Koa as it was after dispose()', async () => {
    const registry = new Registry();
    const measured = koaApp();
    const plain = koaApp();
    const instrumentation = instrumentKoa(measured, { registry, service: 'k' });
    expect(Object.prototype.hasOwnProperty.call(measured, 'handleRequest')).to.equal(true);
    await request(measured.callback()).get('/things/1').expect(200);
    await request(plain.callback()).get('/things/2').expect(200);
    await settled(registry, 'k');
    instrumentation.dispose();
    expect(Object.prototype.hasOwnProperty.call(measured, 'handleRequest')).to.equal(false);
    await request(measured.callback()).get('/things/3').expect(200);
    expect(Object.fromEntries(countsOf(await settled(registry, 'k'), FAMILY))).to.deep.equal({
      [inboundKey('k', 'GET', '/things/:id', 200)]: 1,
    });
  });

  it('leaves a later hook of handleRequest in place at dispose(), passing requests through', async () => {
    const registry = new Registry();
    const app = koaApp();
    const instrumentation = instrumentKoa(app, { registry, service: 'k' });
    const ours = (app as unknown as { handleRequest: (...args: unknown[]) => unknown }).handleRequest;
    let seen = 0;
    const theirs = function (this: unknown, ...args: unknown[]): unknown {
      seen++;
      return ours.apply(this, args);
    };
    Object.assign(app, { handleRequest: theirs });
    instrumentation.dispose();
    expect((app as unknown as { handleRequest: unknown }).handleRequest).to.equal(theirs);
    await request(app.callback()).get('/things/1').expect(200, 'ok');
    expect(seen).to.equal(1);
    expect(countsOf(await registry.metrics(), FAMILY).size).to.equal(0);
  });

  it('measures a request once with the middleware on the same registry', async () => {
    const registry = new Registry();
    const app = new Koa();
    instrumentKoa(app, { registry, service: 'k' });
    app.use(koaMeshMetrics({ registry, service: 'k' }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    await request(app.callback()).get('/').expect(200);
    expect(Object.fromEntries(countsOf(await settled(registry, 'k'), FAMILY))).to.deep.equal({
      [inboundKey('k', 'GET', '__unmatched__', 200)]: 1,
    });
  });

  for (const mode of koaModes) {
    it(`records a thrown error's status when the headers had gone out (${mode.name})`, async () => {
      const registry = new Registry();
      const app = new Koa();
      app.silent = true;
      mode.measure(app, { registry, service: 'k' });
      const router = new Router();
      router.get('/half/:id', (ctx) => {
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
        ctx.res.write('half\n');
        throw Object.assign(new Error('after the headers'), { status: 503 });
      });
      router.get('/open/:id', (ctx) => {
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
        ctx.res.write('open\n');
        ctx.respond = false; // and never more: the client goes away
      });
      app.use(router.routes());
      const server = await listen(app.callback());
      try {
        await leaveAtFirstByte(server.port, '/half/1');
        await leaveAtFirstByte(server.port, '/open/1');
        const text = await until(registry, (t) => countsOf(t, FAMILY).size === 2 && sampleIn(t, 'mesh_http_server_requests_in_flight{service="k"}') === 0);
        expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal({
          [inboundKey('k', 'GET', '/half/:id', 503)]: 1,
          [inboundKey('k', 'GET', '/open/:id', 499)]: 1,
        });
      } finally {
        await server.close();
      }
    });
  }

  it('throws a TypeError naming a bad app or option', () => {
    const registry = new Registry();
    expect(() => instrumentKoa('koa' as never, { registry })).to.throw(TypeError, 'app must be a Koa application, got "koa"');
    expect(() => instrumentKoa({} as never, { registry })).to.throw(TypeError, 'app must be a Koa application');
    expect(() => instrumentKoa(undefined as never)).to.throw(TypeError, 'got undefined');
    expect(() => instrumentKoa(new Koa(), { registry, service: 7 as never })).to.throw(TypeError, 'got 7');
  });
});
