import Router from '@koa/router';
import { expect } from 'chai';
import express5, { type Request, type Response } from 'express';
import express4 from 'express4';
import Koa from 'koa';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { Registry } from './helpers/client.js';
import { sampleIn } from './helpers/exposition.js';
import { expressModes, koaModes } from './helpers/inbound-modes.js';
import { countsOf, inboundKey, listen, until } from './helpers/inbound-traffic.js';

const require = createRequire(import.meta.url);
const Koa2 = require('koa2') as typeof Koa;
type Express = typeof express5;

const FAMILY = 'mesh_http_server_request_duration_seconds';

/**
 * How a raw client ends a GET once the first bytes of the response arrived: `fin` half-closes its socket
 * (`socket.end()`), `rst` resets it (`resetAndDestroy()`), `server` waits for the server to close the connection;
 * `server` with `orFinAfter` half-closes once that promise settles, for a server that leaves the response open.
 */
function get(port: number, path: string, how: 'fin' | 'rst' | 'server', orFinAfter?: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.once('data', () => {
      if (how === 'fin') socket.end();
      else if (how === 'rst') socket.resetAndDestroy();
      else void orFinAfter?.then(() => setTimeout(() => socket.end(), 50));
    });
    socket.resume();
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });
}

/** A body that yields a chunk every 10 ms and never ends (until destroyed). */
function endless(): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push('chunk\n'), 10);
    },
  });
}

/** A body that yields two chunks and then fails; `failed` settles when it has. */
function failing(): { body: Readable; failed: Promise<void> } {
  let n = 0;
  let done: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => (done = resolve));
  const body = new Readable({
    read() {
      setTimeout(() => {
        if (n++ < 2) this.push('chunk\n');
        else {
          this.destroy(new Error('the body stream failed'));
          done();
        }
      }, 10);
    },
  });
  return { body, failed };
}

async function settled(registry: Registry, service: string, requests: number): Promise<Record<string, number>> {
  const text = await until(registry, (t) => {
    const total = [...countsOf(t, FAMILY).values()].reduce((a, b) => a + b, 0);
    return total === requests && sampleIn(t, `mesh_http_server_requests_in_flight{service="${service}"}`) === 0;
  });
  return Object.fromEntries(countsOf(text, FAMILY));
}

const expressMajors: [string, Express][] = [
  ['Express 4', express4 as unknown as Express],
  ['Express 5', express5],
];

for (const [major, express] of expressMajors) {
  describe(`${major}: who abandoned an unfinished response (499 or 500)`, () => {
    for (const mode of expressModes) {
      it(`${mode.name}: a client FIN or RST mid-body is 499; a failed stream.pipeline(body, res) or res.destroy(err) is 500`, async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 'e' });
        app.get('/endless', (_req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('chunk\n'), 10);
          res.on('close', () => clearInterval(t));
        });
        app.get('/endless-pipeline', (_req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          pipeline(endless(), res, () => undefined);
        });
        app.get('/failing-pipeline', (_req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          pipeline(failing().body, res, () => undefined);
        });
        app.get('/destroyed', (_req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part\n', () => res.destroy(new Error('the server gave up')));
        });
        const server = await listen(app);
        try {
          await get(server.port, '/endless', 'fin');
          await get(server.port, '/endless', 'rst');
          await get(server.port, '/endless-pipeline', 'fin');
          await get(server.port, '/endless-pipeline', 'rst');
          await get(server.port, '/failing-pipeline', 'server');
          await get(server.port, '/destroyed', 'server');
          expect(await settled(registry, 'e', 6)).to.deep.equal({
            [inboundKey('e', 'GET', '/endless', 499)]: 2,
            [inboundKey('e', 'GET', '/endless-pipeline', 499)]: 2,
            [inboundKey('e', 'GET', '/failing-pipeline', 500)]: 1,
            [inboundKey('e', 'GET', '/destroyed', 500)]: 1,
          });
        } finally {
          await server.close();
        }
      });
    }
  });
}

const koaMajors: [string, typeof Koa][] = [
  ['Koa 2', Koa2],
  ['Koa 3', Koa],
];

for (const [major, KoaApp] of koaMajors) {
  describe(`${major}: who abandoned an unfinished response (499 or 500)`, () => {
    for (const mode of koaModes) {
      it(`${mode.name}: a client FIN or RST mid-body is 499; a body stream failing after the chain, or res.destroy(err), is 500`, async () => {
        const registry = new Registry();
        const app = new KoaApp();
        app.silent = true;
        mode.measure(app, { registry, service: 'k' });
        const router = new Router();
        router.get('/endless', (ctx) => {
          ctx.type = 'text/plain';
          ctx.body = endless();
        });
        let bodyFailed: () => void = () => undefined;
        const failed = new Promise<void>((resolve) => (bodyFailed = resolve));
        router.get('/failing', (ctx) => {
          const { body, failed: thisFailed } = failing();
          void thisFailed.then(bodyFailed);
          ctx.type = 'text/plain';
          ctx.body = body;
        });
        router.get('/destroyed', (ctx) => {
          ctx.respond = false;
          ctx.res.writeHead(200, { 'content-type': 'text/plain' });
          ctx.res.write('part\n', () => ctx.res.destroy(new Error('the server gave up')));
        });
        app.use(router.routes());
        const server = await listen(app.callback());
        try {
          await get(server.port, '/endless', 'fin');
          await get(server.port, '/endless', 'rst');
          // Koa 3 destroys the response with the stream's error; Koa 2 leaves it open until the client gives up
          await get(server.port, '/failing', 'server', failed);
          await get(server.port, '/destroyed', 'server');
          expect(await settled(registry, 'k', 4)).to.deep.equal({
            [inboundKey('k', 'GET', '/endless', 499)]: 2,
            [inboundKey('k', 'GET', '/failing', 500)]: 1,
            [inboundKey('k', 'GET', '/destroyed', 500)]: 1,
          });
        } finally {
          await server.close();
        }
      });
    }
  });
}

describe('Koa 3: a web ReadableStream body that fails mid-body', () => {
  for (const mode of koaModes) {
    it(`${mode.name}: is 500; a client that leaves such a stream is 499`, async () => {
      const registry = new Registry();
      const app = new Koa();
      app.silent = true;
      mode.measure(app, { registry, service: 'w' });
      const router = new Router();
      const web = (fail: boolean): ReadableStream<Uint8Array> => {
        let n = 0;
        return new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise((r) => setTimeout(r, 10));
            if (fail && n++ >= 2) controller.error(new Error('the web stream failed'));
            else controller.enqueue(new TextEncoder().encode('chunk\n'));
          },
        });
      };
      router.get('/web-failing', (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = web(true);
      });
      router.get('/web-endless', (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = web(false);
      });
      app.use(router.routes());
      const server = await listen(app.callback());
      try {
        await get(server.port, '/web-failing', 'server');
        await get(server.port, '/web-endless', 'fin');
        await get(server.port, '/web-endless', 'rst');
        expect(await settled(registry, 'w', 3)).to.deep.equal({
          [inboundKey('w', 'GET', '/web-failing', 500)]: 1,
          [inboundKey('w', 'GET', '/web-endless', 499)]: 2,
        });
      } finally {
        await server.close();
      }
    });
  }
});

describe('the server destroys the request or its socket with an error of its own (not the response)', () => {
  for (const [major, express] of expressMajors) {
    for (const mode of expressModes) {
      it(`${major}, ${mode.name}: req.destroy(err) and req.socket.destroy(err) are 500; a client RST stays 499`, async () => {
        const registry = new Registry();
        const app = express();
        mode.measure(app, { registry, service: 'e' });
        app.get('/endless', (_req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('chunk\n'), 10);
          res.on('close', () => clearInterval(t));
        });
        app.get('/req-destroyed', (req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part\n', () => req.destroy(new Error('the server gave up')));
        });
        app.get('/socket-destroyed', (req: Request, res: Response) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part\n', () => req.socket.destroy(new Error('the server gave up')));
        });
        const server = await listen(app);
        try {
          await get(server.port, '/endless', 'rst');
          await get(server.port, '/req-destroyed', 'server');
          await get(server.port, '/socket-destroyed', 'server');
          expect(await settled(registry, 'e', 3)).to.deep.equal({
            [inboundKey('e', 'GET', '/endless', 499)]: 1,
            [inboundKey('e', 'GET', '/req-destroyed', 500)]: 1,
            [inboundKey('e', 'GET', '/socket-destroyed', 500)]: 1,
          });
        } finally {
          await server.close();
        }
      });
    }
  }

  for (const [major, KoaApp] of koaMajors) {
    for (const mode of koaModes) {
      it(`${major}, ${mode.name}: ctx.req.destroy(err) is 500; a client RST stays 499`, async () => {
        const registry = new Registry();
        const app = new KoaApp();
        app.silent = true;
        mode.measure(app, { registry, service: 'k' });
        const router = new Router();
        router.get('/endless', (ctx) => {
          ctx.type = 'text/plain';
          ctx.body = endless();
        });
        router.get('/req-destroyed', (ctx) => {
          ctx.respond = false;
          ctx.res.writeHead(200, { 'content-type': 'text/plain' });
          ctx.res.write('part\n', () => ctx.req.destroy(new Error('the server gave up')));
        });
        app.use(router.routes());
        const server = await listen(app.callback());
        try {
          await get(server.port, '/endless', 'rst');
          await get(server.port, '/req-destroyed', 'server');
          expect(await settled(registry, 'k', 2)).to.deep.equal({
            [inboundKey('k', 'GET', '/endless', 499)]: 1,
            [inboundKey('k', 'GET', '/req-destroyed', 500)]: 1,
          });
        } finally {
          await server.close();
        }
      });
    }
  }
});

describe('a stream body failing after the chain, on a ctx that cannot take the mark (frozen)', () => {
  for (const [major, KoaApp] of koaMajors) {
    for (const mode of koaModes) {
      it(`${major}, ${mode.name}: nothing is thrown from the stream's error event; the request is recorded once`, async () => {
        const registry = new Registry();
        const app = new KoaApp();
        app.silent = true;
        mode.measure(app, { registry, service: 'f' });
        const uncaught: unknown[] = [];
        const onUncaught = (error: unknown): void => void uncaught.push(error);
        // mocha's own handler fails the test as well; this one records what reached the process
        process.prependListener('uncaughtException', onUncaught);
        let bodyFailed: () => void = () => undefined;
        const failed = new Promise<void>((resolve) => (bodyFailed = resolve));
        app.use((ctx) => {
          const { body, failed: thisFailed } = failing();
          void thisFailed.then(bodyFailed);
          ctx.type = 'text/plain';
          ctx.body = body;
          Object.freeze(ctx);
        });
        const server = await listen(app.callback());
        try {
          await get(server.port, '/frozen', 'server', failed);
          const counts = await settled(registry, 'f', 1);
          expect(uncaught).to.deep.equal([]);
          expect(Object.keys(counts)).to.have.length(1);
        } finally {
          process.off('uncaughtException', onUncaught);
          await server.close();
        }
      });
    }
  }
});
