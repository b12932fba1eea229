import { expect } from 'chai';
import express from 'express';
import supertest from 'supertest';
import * as cockatiel4 from 'cockatiel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from './helpers/client.js';
import * as undici7 from 'undici';
import * as undici6 from 'undici6';
import { createBalancer, type Balancer, type BalancerOptions } from '../lib/balancer.js';
import { isNoInstanceError } from '../interceptors/axios.js';
import { meshPolicy } from '../interceptors/cockatiel.js';
import { metricsHandler } from '../middleware/metrics-handler.js';
import { meshDispatcher, type MeshDispatcher, type MeshDispatcherOptions } from '../interceptors/undici.js';
import { closeAll, closedPort, startBackend, type Backend, type BackendMode } from './helpers/backends.js';
import { sample, samplesOf } from './helpers/exposition.js';

const SERVICE = 'service="users"';

/** A server that streams its body: one chunk at once, the rest 30 ms later (400 ms with `/slow`, never with `/hang`). */
async function streamingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first-part;');
    if (req.url !== '/hang') setTimeout(() => res.end('second-part'), req.url === '/slow' ? 400 : 30);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Answer {
  status: number;
  text: string;
}

interface Init {
  method?: string;
  body?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** One way of sending a request through a dispatcher, and the undici module the dispatcher is built on. */
interface Client {
  readonly name: string;
  readonly undici: object;
  send(dispatcher: MeshDispatcher, url: string, init?: Init): Promise<Answer>;
  /** Sends and never reads the body; returns the status. */
  unread(dispatcher: MeshDispatcher, url: string): Promise<number>;
  /** Sends, reads the first chunk of the body, then aborts. */
  abortMidBody(dispatcher: MeshDispatcher, url: string): Promise<string>;
}

const viaFetch: Client = {
  name: 'global fetch',
  undici: undici7,
  async send(dispatcher, url, init = {}) {
    const r = await fetch(url, { ...init, dispatcher });
    return { status: r.status, text: await r.text() };
  },
  async unread(dispatcher, url) {
    return (await fetch(url, { dispatcher })).status;
  },
  async abortMidBody(dispatcher, url) {
    const controller = new AbortController();
    const r = await fetch(url, { dispatcher, signal: controller.signal });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    return Buffer.from(first.value ?? []).toString();
  },
};

function viaRequest(name: string, module: typeof undici7 | typeof undici6): Client {
  return {
    name,
    undici: module,
    async send(dispatcher, url, init = {}) {
      const r = await module.request(url, { ...init, dispatcher } as never);
      return { status: r.statusCode, text: await r.body.text() };
    },
    async unread(dispatcher, url) {
      return (await module.request(url, { dispatcher } as never)).statusCode;
    },
    async abortMidBody(dispatcher, url) {
      const controller = new AbortController();
      const r = await module.request(url, { dispatcher, signal: controller.signal } as never);
      const first = await new Promise<string>((resolve) => r.body.once('data', (c: Buffer) => resolve(c.toString())));
      controller.abort();
      await new Promise((resolve) => r.body.on('error', resolve).on('close', resolve));
      return first;
    },
  };
}

const CLIENTS: Client[] = [
  viaFetch,
  { ...viaFetch, name: 'global fetch, dispatcher on undici 6', undici: undici6 },
  viaRequest('undici 7 request', undici7),
  viaRequest('undici 6 request', undici6),
];

for (const http of CLIENTS) {
  describe(`meshDispatcher (${http.name}, Node ${process.versions.node}, fetch's undici ${process.versions.undici})`, () => {
    let registry: Registry;
    let backends: Backend[];
    const disposables: { dispose(): void }[] = [];
    const dispatchers: MeshDispatcher[] = [];

    const backend = async (mode: BackendMode, name: string): Promise<Backend> => {
      const b = await startBackend(mode, { name });
      backends.push(b);
      return b;
    };
    const balancer = (instances: string[], o: Partial<BalancerOptions> = {}): Balancer => {
      const b = createBalancer({ service: 'users', instances, registry, ...o });
      disposables.push(b);
      return b;
    };
    const dispatcher = (o: Partial<MeshDispatcherOptions> = {}): MeshDispatcher => {
      const d = meshDispatcher({ service: 'users', registry, undici: http.undici, ...o });
      dispatchers.push(d);
      return d;
    };
    const value = (series: string): Promise<number | undefined> => sample(registry, series);
    const calls = (op: string, status: string, errorType?: string): Promise<number | undefined> =>
      value(`mesh_calls_total{${SERVICE},operation="${op}",status="${status}"${errorType ? `,error_type="${errorType}"` : ''}}`);
    const lines = async (name: string): Promise<string[]> => samplesOf(await registry.metrics(), name);
    const failure = async (p: Promise<unknown>): Promise<Error> => {
      try {
        await p;
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected the request to fail');
    };
    const backendOf = (a: Answer): string => (JSON.parse(a.text) as { backend: string }).backend;

    beforeEach(() => {
      registry = new Registry();
      backends = [];
    });
    afterEach(async () => {
      for (const d of disposables.splice(0)) d.dispose();
      await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
      await closeAll(backends);
    });

    if (http === viaFetch) {
      describe('options', () => {
        const bad: [string, Record<string, unknown>, RegExp][] = [
          ['the service', { service: '' }, /service must be a non-empty string, got ""/],
          ['the balancer', { balancer: {} }, /balancer must come from createBalancer\(\), got \[object Object\]/],
          ['the policy', { policy: 5 }, /policy must be a cockatiel policy .*got 5/],
          ['the operation', { operation: 3 }, /operation must be a non-empty string or a function, got 3/],
          ['isFailure', { isFailure: 'yes' }, /isFailure must be a function, got "yes"/],
          ['the origin', { origin: 'ftp://users' }, /origin must be an http or https URL, got "ftp:\/\/users"/],
          ['the dispatcher', { dispatcher: {} }, /dispatcher must be an undici dispatcher .*got \[object Object\]/],
          ['the undici module', { undici: {} }, /undici must be the undici module .*missing Dispatcher/],
          ['the prefix', { prefix: '1x' }, /prefix must match .*"1x"/],
          ['the logger', { logger: 5 }, /logger must have info\(\) and warn\(\) methods .*got 5/],
        ];
        for (const [what, o, message] of bad) {
          it(`throws a TypeError naming ${what}`, () => {
            expect(() => dispatcher(o as Partial<MeshDispatcherOptions>)).to.throw(TypeError, message);
          });
        }

        it('is an undici Dispatcher: request() and compose() work on it', async () => {
          const ok = await backend('ok', 'ok');
          // given the module, the dispatcher is typed as that undici's Dispatcher too
          const d = meshDispatcher({ service: 'users', registry, undici: undici7 });
          dispatchers.push(d);
          expect(d).to.be.instanceOf(undici7.Dispatcher);
          const r = await d.request({ origin: ok.url, path: '/a', method: 'GET' });
          expect(await r.body.text()).to.include('"backend":"ok"');
          // undici's own interceptors compose on top (dump reads and drops the body) and underneath
          const composed = d.compose(undici7.interceptors.dump({ maxSize: 1024 }));
          const under = dispatcher({ service: 'orders', dispatcher: new undici7.Agent().compose(undici7.interceptors.dump({ maxSize: 1024 })) });
          expect((await fetch(`${ok.url}/b`, { dispatcher: composed } as never)).status).to.equal(200);
          expect((await fetch(`${ok.url}/c`, { dispatcher: under } as never)).status).to.equal(200);
          expect(await calls('get', 'success')).to.equal(2);
          expect(await value('mesh_calls_total{service="orders",operation="get",status="success"}')).to.equal(1);
        });

        it("the kit's own scrape (metricsHandler) shows the pool gauges and the retry budget as they are now", async () => {
          const stall = await backend('stall', 'stall');
          const p = meshPolicy({ service: 'users', registry, retry: { retries: 1 }, retryBudget: { ratio: 0.5, minRetriesPerSecond: 1, windowMs: 60_000 } });
          disposables.push(p);
          const d = dispatcher({ balancer: balancer([stall.url]), policy: p });
          const app = express();
          app.get('/metrics', metricsHandler({ registry }));
          const scrape = async (): Promise<string> => (await supertest(app).get('/metrics').expect(200)).text;
          const inst = `${SERVICE},instance="${stall.url}"`;
          const controller = new AbortController();
          const pending = Array.from({ length: 2 }, () => http.send(d, 'http://users/x', { signal: controller.signal }).catch(() => undefined));
          while (stall.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
          let text = await scrape();
          expect(text).to.include(`mesh_lb_pool_running_requests{${inst}} 2\n`);
          expect(text).to.include(`mesh_retry_budget_remaining{${SERVICE}} 61\n`); // 60 (floor) + 2 x 0.5
          controller.abort();
          await Promise.all(pending);
          await new Promise((r) => setTimeout(r, 20));
          text = await scrape();
          expect(text).to.include(`mesh_lb_pool_running_requests{${inst}} 0\n`);
        });

        it('reads the pool gauges from the stats of an undici 7 Agent passed as its dispatcher', async () => {
          const ok = await backend('ok', 'ok');
          const agent = new undici7.Agent();
          const d = dispatcher({ balancer: balancer([ok.url]), dispatcher: agent });
          expect((await http.send(d, 'http://users/x')).status).to.equal(200);
          expect(await value(`mesh_lb_pool_connections{${SERVICE},instance="${ok.url}"}`)).to.equal(1);
          expect(await value(`mesh_lb_pool_requests{${SERVICE},instance="${ok.url}"}`)).to.equal(0);
        });

        it("speaks undici 7's controller handler API too (onRequestStart ... onResponseEnd)", async () => {
          const ok = await backend('ok', 'ok');
          const d = dispatcher({ balancer: balancer([ok.url]) });
          const seen: string[] = [];
          let body = '';
          await new Promise<void>((resolve, reject) => {
            d.dispatch(
              { origin: 'http://users', path: '/x', method: 'GET' },
              {
                onRequestStart: () => void seen.push('start'),
                onResponseStart: (_c: unknown, status: number, headers: Record<string, string>) =>
                  void seen.push(`head ${status} ${headers['content-type']}`),
                onResponseData: (_c: unknown, chunk: Buffer) => void (body += chunk.toString()),
                onResponseEnd: () => {
                  seen.push('end');
                  resolve();
                },
                onResponseError: (_c: unknown, e: Error) => reject(e),
              } as never,
            );
          });
          expect(seen).to.deep.equal(['start', 'head 200 application/json', 'end']);
          expect(JSON.parse(body)).to.deep.equal({ backend: 'ok', n: 1 });
          expect(await calls('get', 'success')).to.equal(1);
        });

        it('works as the global dispatcher, without a dispatcher option', async () => {
          const ok = await backend('ok', 'ok');
          const d = meshDispatcher({ service: 'users', registry, undici: undici7, balancer: balancer([ok.url]) });
          dispatchers.push(d);
          const before = undici7.getGlobalDispatcher();
          undici7.setGlobalDispatcher(d);
          try {
            expect((await fetch('http://users/users/1')).status).to.equal(200);
            expect((await undici7.request('http://users/users/2')).statusCode).to.equal(200);
          } finally {
            undici7.setGlobalDispatcher(before);
          }
          expect(ok.requests.map((r) => r.url)).to.deep.equal(['/users/1', '/users/2']);
          expect(await calls('get', 'success')).to.equal(2);
        });
      });
    }

    describe('without a policy or a balancer', () => {
      it('records one call per request, labelled by the lower-case method', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher();
        await http.send(d, `${ok.url}/users/1`);
        await http.send(d, `${ok.url}/users`, { method: 'POST', body: '{"name":"x"}' });
        await http.send(d, `${ok.url}/users/2`);
        expect(await calls('get', 'success')).to.equal(2);
        expect(await calls('post', 'success')).to.equal(1);
        expect(await value(`mesh_call_duration_seconds_count{${SERVICE},operation="get"}`)).to.equal(2);
        expect(await lines('mesh_lb_requests_total')).to.deep.equal([]);
      });

      it('counts 5xx as failed calls and 4xx as successful ones, handing both responses to the caller', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher();
        expect((await http.send(d, `${ok.url}/_/status/503`)).status).to.equal(503);
        expect((await http.send(d, `${ok.url}/_/status/404`)).status).to.equal(404);
        expect(await calls('get', 'failure', 'http_5xx')).to.equal(1);
        expect(await calls('get', 'success')).to.equal(1);
        expect(await value(`mesh_call_duration_seconds_count{${SERVICE},operation="get"}`)).to.equal(2);
      });

      it('classifies a reset, a closed port, a caller timeout and a cancellation', async () => {
        const reset = await backend('reset', 'reset');
        const stall = await backend('stall', 'stall');
        const closed = await closedPort();
        const d = dispatcher();
        await failure(http.send(d, `${reset.url}/x`));
        await failure(http.send(d, `${closed.url}/x`));
        await failure(http.send(d, `${stall.url}/x`, { signal: AbortSignal.timeout(80) }));
        const controller = new AbortController();
        const pending = http.send(d, `${stall.url}/y`, { signal: controller.signal });
        while (stall.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
        controller.abort();
        await failure(pending);
        expect(await calls('get', 'failure', 'connection_reset')).to.equal(1);
        expect(await calls('get', 'failure', 'connection_refused')).to.equal(1);
        expect(await calls('get', 'failure', 'timeout')).to.equal(1);
        expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
        expect(await lines('mesh_calls_total')).to.have.length(4);
      });

      it('counts a streamed body once when read to the end, and as cancelled when the caller aborts mid-body', async () => {
        const server = await streamingServer();
        try {
          const d = dispatcher();
          expect((await http.send(d, `${server.url}/stream`)).text).to.equal('first-part;second-part');
          expect(await http.abortMidBody(d, `${server.url}/hang`)).to.equal('first-part;');
          await new Promise((r) => setTimeout(r, 20));
          expect(await calls('get', 'success')).to.equal(1);
          expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
          expect(await lines('mesh_calls_total')).to.have.length(2);
        } finally {
          await server.close();
        }
      });

      it('names the operation by option or by function; a bad name falls back to the method and is counted', async () => {
        const ok = await backend('ok', 'ok');
        await http.send(dispatcher({ operation: 'users_api' }), `${ok.url}/a`);
        const byPath = dispatcher({ service: 'orders', operation: (o) => (o.path.startsWith('/orders') ? 'list_orders' : '') });
        await http.send(byPath, `${ok.url}/orders?page=2`);
        await http.send(byPath, `${ok.url}/other`, { method: 'DELETE' });
        expect(await calls('users_api', 'success')).to.equal(1);
        expect(await value('mesh_calls_total{service="orders",operation="list_orders",status="success"}')).to.equal(1);
        expect(await value('mesh_calls_total{service="orders",operation="delete",status="success"}')).to.equal(1);
        expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
      });

      it('never throws from metrics code: a throwing operation function or isFailure is counted', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher({
          operation: () => {
            throw new Error('bad');
          },
          isFailure: () => {
            throw new Error('worse');
          },
        });
        expect((await http.send(d, `${ok.url}/a`)).status).to.equal(200);
        expect(await calls('get', 'failure', 'other')).to.equal(1);
        expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(2);
      });
    });

    describe('with a balancer', () => {
      it('spreads attempts to the service origin, counting each instance, its duration and its active connections', async () => {
        const a = await backend('ok', 'a');
        const b = await backend('ok', 'b');
        const d = dispatcher({ balancer: balancer([a.url, b.url]) });
        const answers: string[] = [];
        for (let i = 0; i < 4; i++) answers.push(backendOf(await http.send(d, 'http://users/users/1')));
        expect(answers).to.deep.equal(['a', 'b', 'a', 'b']);
        for (const x of [a, b]) {
          const inst = `${SERVICE},instance="${x.url}"`;
          expect(await value(`mesh_lb_requests_total{${inst},strategy="round_robin"}`)).to.equal(2);
          expect(await value(`mesh_lb_request_duration_seconds_count{${inst}}`)).to.equal(2);
          expect(await value(`mesh_lb_active_connections{${inst}}`)).to.equal(0);
          expect(await value(`mesh_lb_instance_health_score{${inst}}`)).to.equal(1);
          expect(await value(`mesh_lb_pool_connections{${inst}}`)).to.equal(1);
          expect(await value(`mesh_lb_pool_running_requests{${inst}}`)).to.equal(0);
          expect(await value(`mesh_lb_pool_pending_requests{${inst}}`)).to.equal(0);
          expect(await value(`mesh_lb_pool_requests{${inst}}`)).to.equal(0);
          expect(x.requests.map((r) => r.url)).to.deep.equal(['/users/1', '/users/1']);
        }
        expect(await calls('get', 'success')).to.equal(4);
        expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
      });

      it('records each attempt\'s body sizes and time to the head (mesh_lb_*_body_size_bytes, _response_first_byte_seconds)', async () => {
        const a = await backend('ok', 'a');
        const closed = await closedPort();
        const d = dispatcher({ balancer: balancer([a.url]) });
        const got = await http.send(d, 'http://users/users/1');
        const posted = await http.send(d, 'http://users/users', { method: 'POST', body: 'héllo' } as never);
        const inst = `${SERVICE},instance="${a.url}"`;
        expect(await lines('mesh_lb_request_body_size_bytes_sum')).to.deep.equal([`mesh_lb_request_body_size_bytes_sum{${inst}} 6`]);
        expect(await value(`mesh_lb_request_body_size_bytes_count{${inst}}`)).to.equal(2);
        const received = Buffer.byteLength(got.text) + Buffer.byteLength(posted.text);
        expect(await lines('mesh_lb_response_body_size_bytes_sum')).to.deep.equal([`mesh_lb_response_body_size_bytes_sum{${inst}} ${received}`]);
        expect(await lines('mesh_lb_response_first_byte_seconds_count')).to.deep.equal([`mesh_lb_response_first_byte_seconds_count{${inst}} 2`]);
        // an attempt that got no response: no head, no response size
        const none = dispatcher({ balancer: balancer([closed.url]) });
        await failure(http.send(none, 'http://users/users/1'));
        expect(await value(`mesh_lb_response_first_byte_seconds_count{${SERVICE},instance="${closed.url}"}`)).to.equal(undefined);
        expect(await value(`mesh_lb_response_body_size_bytes_count{${SERVICE},instance="${closed.url}"}`)).to.equal(undefined);
      });

      it('times a call and its one attempt with the same clock readings; a balancer with a clock of its own reads it', async () => {
        const a = await backend('ok', 'a');
        const f = await backend('fail', 'f');
        const callSum = async (): Promise<number> => {
          const found = await lines('mesh_call_duration_seconds_sum');
          expect(found).to.have.length(1);
          return Number((found[0] as string).split(' ')[1]);
        };
        const lbSum = (x: Backend) => value(`mesh_lb_request_duration_seconds_sum{${SERVICE},instance="${x.url}"}`);
        // the attempts' durations are the calls' to the last bit, for successes and for failed responses
        for (const [x, status, errorType] of [[a, 'success', undefined], [f, 'failure', 'http_5xx']] as const) {
          registry = new Registry();
          const d = dispatcher({ balancer: balancer([x.url]) });
          for (let i = 0; i < 3; i++) await http.send(d, 'http://users/users/1');
          expect(await calls('get', status, errorType)).to.equal(3);
          const sum = await callSum();
          expect(sum).to.be.greaterThan(0);
          expect(await lbSum(x)).to.equal(sum);
        }
        // the balancer's own clock: 250 ms from each reading to the next, so each attempt lasts 0.25 s on it
        registry = new Registry();
        let t = 0;
        const own = dispatcher({ balancer: balancer([a.url], { now: () => (t += 250) }) });
        for (let i = 0; i < 2; i++) await http.send(own, 'http://users/users/1');
        expect(await lbSum(a)).to.equal(0.5);
        expect(await callSum()).to.be.greaterThan(0).and.lessThan(0.25);
      });

      it('reads the pool gauges when scraped: three calls in flight are three running requests on three connections', async () => {
        const stall = await backend('stall', 'stall');
        const d = dispatcher({ balancer: balancer([stall.url]) });
        const inst = `${SERVICE},instance="${stall.url}"`;
        const controller = new AbortController();
        const pending = Array.from({ length: 3 }, () => http.send(d, 'http://users/x', { signal: controller.signal }).catch(() => undefined));
        while (stall.requests.length < 3) await new Promise((r) => setTimeout(r, 5));
        expect(await value(`mesh_lb_pool_running_requests{${inst}}`)).to.equal(3);
        expect(await value(`mesh_lb_pool_requests{${inst}}`)).to.equal(3);
        expect(await value(`mesh_lb_pool_connections{${inst}}`)).to.equal(3);
        expect(await value(`mesh_lb_active_connections{${inst}}`)).to.equal(3);
        controller.abort();
        await Promise.all(pending);
        await new Promise((r) => setTimeout(r, 20));
        expect(await value(`mesh_lb_pool_running_requests{${inst}}`)).to.equal(0);
        expect(await value(`mesh_lb_active_connections{${inst}}`)).to.equal(0);
        expect(await calls('get', 'failure', 'cancelled')).to.equal(3);
      });

      it('holds an active connection (and a running pool request) while a body streams; cancelled mid-body', async () => {
        const server = await streamingServer();
        try {
          const d = dispatcher({ balancer: balancer([server.url]) });
          const inst = `${SERVICE},instance="${server.url}"`;
          expect(await http.abortMidBody(d, 'http://users/hang')).to.equal('first-part;');
          await new Promise((r) => setTimeout(r, 20));
          expect(await value(`mesh_lb_active_connections{${inst}}`)).to.equal(0);
          expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="cancelled"}`)).to.equal(1);
          expect(await value(`mesh_lb_instance_health_score{${inst}}`)).to.equal(1);
          expect(await value(`mesh_lb_request_duration_seconds_count{${inst}}`)).to.equal(1);
          expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
          expect((await http.send(d, 'http://users/stream')).text).to.equal('first-part;second-part');
          expect(await value(`mesh_lb_request_duration_seconds_count{${inst}}`)).to.equal(2);
          expect(await calls('get', 'success')).to.equal(1);
        } finally {
          await server.close();
        }
      });

      it('classifies failed attempts per instance: reset, closed port, 5xx, and a killed backend', async () => {
        const reset = await backend('reset', 'reset');
        const fail = await backend('fail', 'fail');
        const killed = await startBackend('ok', { name: 'killed' });
        const closed = await closedPort();
        const d = dispatcher({ balancer: balancer([reset.url, closed.url, fail.url, killed.url], { outlier: false }) });
        for (let i = 0; i < 3; i++) await http.send(d, 'http://users/x').catch(() => undefined);
        expect((await http.send(d, 'http://users/x')).status).to.equal(200);
        await killed.close();
        for (let i = 0; i < 4; i++) await http.send(d, 'http://users/x').catch(() => undefined);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="connection_reset"}`)).to.equal(2);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="connection_refused"}`)).to.equal(3);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(2);
        expect(await calls('get', 'failure', 'connection_reset')).to.equal(2);
        expect(await calls('get', 'failure', 'connection_refused')).to.equal(3);
        expect(await calls('get', 'failure', 'http_5xx')).to.equal(2);
        expect(await calls('get', 'success')).to.equal(1);
        for (const url of [reset.url, closed.url, fail.url]) {
          expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${url}",strategy="round_robin"}`)).to.equal(2);
        }
      });

      it('counts an attempt whose body is never read once, and frees its connection', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher({ balancer: balancer([ok.url]) });
        expect(await http.unread(d, 'http://users/x')).to.equal(200);
        expect(await http.unread(d, 'http://users/_/status/503')).to.equal(503);
        await new Promise((r) => setTimeout(r, 30));
        expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${ok.url}",strategy="round_robin"}`)).to.equal(2);
        expect(await value(`mesh_lb_request_duration_seconds_count{${SERVICE},instance="${ok.url}"}`)).to.equal(2);
        expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${ok.url}"}`)).to.equal(0);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
        expect(await calls('get', 'success')).to.equal(1);
        expect(await calls('get', 'failure', 'http_5xx')).to.equal(1);
      });

      it('a 4xx answer is a successful attempt: no error, health intact', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher({ balancer: balancer([ok.url]) });
        expect((await http.send(d, 'http://users/_/status/404')).status).to.equal(404);
        expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
        expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${ok.url}"}`)).to.equal(1);
        expect(await calls('get', 'success')).to.equal(1);
      });

      it('fails a call with NoInstanceError when no instance is registered', async () => {
        const d = dispatcher({ balancer: balancer([]) });
        const err = await failure(http.send(d, 'http://users/x'));
        const cause = (err as { cause?: unknown }).cause ?? err;
        expect(isNoInstanceError(cause)).to.equal(true);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="no_instance"}`)).to.equal(1);
        expect(await calls('get', 'failure', 'other')).to.equal(1);
      });

      it('lets a request to another origin bypass the balancer', async () => {
        const a = await backend('ok', 'a');
        const other = await backend('ok', 'other');
        const d = dispatcher({ balancer: balancer([a.url]) });
        expect(backendOf(await http.send(d, `${other.url}/x`))).to.equal('other');
        expect(await lines('mesh_lb_requests_total')).to.deep.equal([]);
        expect(await calls('get', 'success')).to.equal(1);
      });

      it('keeps the counts exact under 50 concurrent calls', async () => {
        const a = await backend({ delayMs: 5 }, 'a');
        const b = await backend('ok', 'b');
        const d = dispatcher({ balancer: balancer([a.url, b.url], { strategy: 'least_connections' }) });
        await Promise.all(Array.from({ length: 50 }, () => http.send(d, 'http://users/x')));
        const total = (await lines('mesh_lb_requests_total')).reduce((s, l) => s + Number(l.split(' ')[1]), 0);
        expect(total).to.equal(50);
        expect(a.requests.length + b.requests.length).to.equal(50);
        expect(await calls('get', 'success')).to.equal(50);
        for (const x of [a, b]) {
          expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${x.url}"}`)).to.equal(0);
        }
      });

      it('never puts credentials, paths or queries from instances or requests in /metrics', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher({ balancer: balancer([`http://bob:pw-balanced@127.0.0.1:${ok.port}/base-7`]) });
        await http.send(d, 'http://users/accounts/acct-7777?api_key=ak-5');
        await http.send(d, `http://alice:pw-plain@127.0.0.1:${ok.port}/tenant-9/users/uid-4242?token=tok-2`).catch(() => undefined);
        expect(ok.requests[0]?.url).to.equal('/base-7/accounts/acct-7777?api_key=ak-5');
        expect(ok.requests[0]?.headers.authorization).to.equal(`Basic ${Buffer.from('bob:pw-balanced').toString('base64')}`);
        const text = await registry.metrics();
        for (const secret of ['alice', 'pw-plain', 'tenant-9', 'tok-2', 'bob', 'pw-balanced', 'base-7', 'ak-5', 'uid-4242', 'acct-7777', 'accounts']) {
          expect(text, secret).to.not.include(secret);
        }
        expect(text).to.include(`instance="http://127.0.0.1:${ok.port}"`);
      });
    });

    describe('with a policy', () => {
      const policy = (o: Partial<Parameters<typeof meshPolicy>[0]> = {}) => {
        const p = meshPolicy({ service: 'users', registry, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 }, ...o });
        disposables.push(p);
        return p;
      };

      it('the issue scenario: A (503) and B (200), round_robin, retries: 2, one get_user call', async () => {
        const a = await backend('fail', 'a');
        const b = await backend('ok', 'b');
        const d = dispatcher({ balancer: balancer([a.url, b.url]), policy: policy(), operation: 'get_user' });
        expect(backendOf(await http.send(d, 'http://users/users/1'))).to.equal('b');
        expect(await value(`mesh_calls_total{${SERVICE},operation="get_user",status="success"}`)).to.equal(1);
        expect(await lines('mesh_calls_total')).to.have.length(1);
        expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${a.url}",strategy="round_robin"}`)).to.equal(1);
        expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${b.url}",strategy="round_robin"}`)).to.equal(1);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
        expect(await lines('mesh_lb_errors_total')).to.have.length(1);
        expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="get_user",attempt="1"}`)).to.equal(1);
        expect(await lines('mesh_retry_attempts_total')).to.have.length(1);
        expect(await value(`mesh_retry_success_total{${SERVICE},operation="get_user"}`)).to.equal(1);
        expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${a.url}"}`)).to.equal(0.8);
        expect(a.requests.length).to.equal(1);
        expect(b.requests.length).to.equal(1);
      });

      it('instruments a plain cockatiel retry the same way (a failed response is retried like an error)', async () => {
        const a = await backend('fail', 'a');
        const b = await backend('ok', 'b');
        const plain = cockatiel4.retry(cockatiel4.handleAll, { maxAttempts: 2, backoff: new cockatiel4.ConstantBackoff(1) });
        const d = dispatcher({ balancer: balancer([a.url, b.url]), policy: plain });
        expect(backendOf(await http.send(d, 'http://users/x'))).to.equal('b');
        expect(await calls('get', 'success')).to.equal(1);
        expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="get",attempt="1"}`)).to.equal(1);
      });

      it('gives up after the last retry: the caller gets the last 503 response, one failed call, three failed attempts', async () => {
        const a = await backend('fail', 'a');
        const d = dispatcher({ balancer: balancer([a.url], { outlier: false }), policy: policy({ circuitBreaker: false }) });
        const r = await http.send(d, 'http://users/x');
        expect(r.status).to.equal(503);
        expect(JSON.parse(r.text)).to.deep.equal({ backend: 'a', n: 3 });
        expect(a.requests.length).to.equal(3);
        expect(await calls('get', 'failure', 'http_5xx')).to.equal(1);
        expect(await lines('mesh_calls_total')).to.have.length(1);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(3);
        expect(await value(`mesh_retry_failure_total{${SERVICE},operation="get",error_type="http_5xx"}`)).to.equal(1);
      });

      it('re-sends the same request body on a retry', async () => {
        const bodies: string[] = [];
        const server = createServer((req, res) => {
          let text = '';
          req.setEncoding('utf8');
          req.on('data', (c: string) => (text += c));
          req.on('end', () => {
            bodies.push(text);
            res.writeHead(bodies.length === 1 ? 503 : 200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ got: text.length }));
          });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        try {
          const d = dispatcher({ balancer: balancer([url]), policy: policy() });
          const payload = JSON.stringify({ name: 'x'.repeat(70_000) });
          const r = await http.send(d, 'http://users/users', { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } });
          expect(r.status).to.equal(200);
          expect(bodies).to.deep.equal([payload, payload]);
          expect(await calls('post', 'success')).to.equal(1);
          expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="post",attempt="1"}`)).to.equal(1);
        } finally {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      });

      if (http.name.includes('fetch')) {
        it('fails a retry that would have to resend a streamed body over 1 MiB, with UND_ERR_REQ_RETRY', async () => {
          const a = await backend('fail', 'a');
          const d = dispatcher({ balancer: balancer([a.url], { outlier: false }), policy: policy({ retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 } }) });
          const err = await failure(http.send(d, 'http://users/upload', { method: 'POST', body: 'x'.repeat(1.5 * 1024 * 1024) }));
          expect((err as { cause?: { code?: string } }).cause?.code).to.equal('UND_ERR_REQ_RETRY');
          expect(a.requests.length).to.equal(1);
          expect(await calls('post', 'failure', 'other')).to.equal(1);
          expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
        });
      }

      it('does not retry a 4xx: one attempt, one successful call', async () => {
        const ok = await backend('ok', 'ok');
        const d = dispatcher({ balancer: balancer([ok.url]), policy: policy() });
        expect((await http.send(d, 'http://users/_/status/404')).status).to.equal(404);
        expect(ok.requests.length).to.equal(1);
        expect(await calls('get', 'success')).to.equal(1);
        expect(await lines('mesh_retry_attempts_total')).to.deep.equal([]);
      });

      it('an open circuit rejects calls without an attempt, as circuit_open', async () => {
        const a = await backend('fail', 'a');
        const p = policy({ retry: false, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } });
        const d = dispatcher({ balancer: balancer([a.url], { outlier: false }), policy: p });
        expect((await http.send(d, 'http://users/x')).status).to.equal(503);
        expect((await http.send(d, 'http://users/x')).status).to.equal(503);
        await failure(http.send(d, 'http://users/x'));
        expect(a.requests.length).to.equal(2);
        expect(await calls('get', 'failure', 'http_5xx')).to.equal(2);
        expect(await calls('get', 'failure', 'circuit_open')).to.equal(1);
      });

      it('a timeout policy aborts the attempt and the attempt counts as a timeout', async () => {
        const stall = await backend('stall', 'stall');
        const d = dispatcher({ balancer: balancer([stall.url]), policy: policy({ retry: false, circuitBreaker: false, timeoutMs: 80 }) });
        await failure(http.send(d, 'http://users/x'));
        await new Promise((r) => setTimeout(r, 20));
        expect(await calls('get', 'failure', 'timeout')).to.equal(1);
        expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${stall.url}"}`)).to.equal(0);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="timeout"}`)).to.equal(1);
        expect(await lines('mesh_lb_errors_total')).to.have.length(1);
      });

      it('delivers a streamed body in full under meshPolicy({ timeoutMs })', async () => {
        const server = await streamingServer();
        try {
          const d = dispatcher({ balancer: balancer([server.url]), policy: policy({ retry: false, timeoutMs: 200 }) });
          expect((await http.send(d, 'http://users/slow')).text).to.equal('first-part;second-part');
          expect(await calls('get', 'success')).to.equal(1);
          expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
        } finally {
          await server.close();
        }
      });

      it('a cancellation while waiting stops the call: one cancelled call', async () => {
        const stall = await backend('stall', 'stall');
        const d = dispatcher({ balancer: balancer([stall.url]), policy: policy() });
        const controller = new AbortController();
        const pending = http.send(d, 'http://users/x', { signal: controller.signal });
        while (stall.requests.length < 1) await new Promise((r) => setTimeout(r, 5));
        controller.abort();
        await failure(pending);
        await new Promise((r) => setTimeout(r, 20));
        expect(stall.requests.length).to.equal(1);
        expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
        expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="cancelled"}`)).to.equal(1);
      });
    });
  });
}
