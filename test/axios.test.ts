import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import * as cockatiel4 from 'cockatiel';
import * as cockatiel3 from 'cockatiel3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Registry } from './helpers/client.js';
import { createBalancer, type Balancer, type BalancerOptions } from '../lib/balancer.js';
import { instrumentAxios, isNoInstanceError, type InstrumentAxiosOptions } from '../interceptors/axios.js';
import { meshPolicy } from '../interceptors/cockatiel.js';
import type { InstrumentedPolicy } from '../interceptors/policy-types.js';
import type { PolicyLike } from '../interceptors/policy-walk.js';
import { closeAll, closedPort, startBackend, type Backend, type BackendMode } from './helpers/backends.js';
import { sample, samplesOf } from './helpers/exposition.js';

const SERVICE = 'service="users"';

/** A server on 127.0.0.1 that streams its body: one chunk at once, the rest a moment later. */
async function streamingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first-part;');
    setTimeout(() => res.end('second-part'), 30);
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

/** Everything a stream yields until it ends, or until it is destroyed (then what came before). */
function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => resolve(text));
  });
}

describe('instrumentAxios', () => {
  let registry: Registry;
  let backends: Backend[];
  const disposables: { dispose(): void }[] = [];

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
  const client = (o: Partial<InstrumentAxiosOptions> = {}, base: AxiosInstance = axios.create()): AxiosInstance =>
    instrumentAxios(base, { service: 'users', registry, ...o });
  const value = (series: string): Promise<number | undefined> => sample(registry, series);
  const calls = (op: string, status: string, errorType?: string): Promise<number | undefined> =>
    value(`mesh_calls_total{${SERVICE},operation="${op}",status="${status}"${errorType ? `,error_type="${errorType}"` : ''}}`);
  const lines = async (name: string): Promise<string[]> => samplesOf(await registry.metrics(), name);
  const failure = async (p: Promise<unknown>): Promise<AxiosError> => {
    try {
      await p;
    } catch (e) {
      return e as AxiosError;
    }
    throw new Error('expected the request to fail');
  };

  beforeEach(() => {
    registry = new Registry();
    backends = [];
  });
  afterEach(async () => {
    for (const d of disposables.splice(0)) d.dispose();
    await closeAll(backends);
  });

  describe('options', () => {
    it('returns the same instance', () => {
      const base = axios.create();
      expect(instrumentAxios(base, { service: 'users', registry })).to.equal(base);
    });

    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['the service', { service: '' }, /service must be a non-empty string, got ""/],
      ['the balancer', { balancer: {} }, /balancer must come from createBalancer\(\), got \[object Object\]/],
      ['the policy', { policy: 5 }, /policy must be a cockatiel policy .*got 5/],
      ['the operation', { operation: 3 }, /operation must be a non-empty string or a function, got 3/],
      ['isFailure', { isFailure: 'yes' }, /isFailure must be a function, got "yes"/],
      ['the prefix', { prefix: '1x' }, /prefix must match .*"1x"/],
      ['the logger (without a policy too)', { logger: 5 }, /logger must have info\(\) and warn\(\) methods .*got 5/],
    ];
    for (const [what, o, message] of bad) {
      it(`throws a TypeError naming ${what}`, () => {
        expect(() => client(o as Partial<InstrumentAxiosOptions>)).to.throw(TypeError, message);
      });
    }

    it('refuses something that is not an axios instance, and a second instrumentation', () => {
      expect(() => instrumentAxios({} as AxiosInstance, { service: 'users', registry })).to.throw(
        TypeError,
        /axiosInstance must be an axios instance/,
      );
      const c = client();
      expect(() => client({}, c)).to.throw(TypeError, /already instrumented/);
    });
  });

  describe('without a policy or a balancer', () => {
    it('records one call per request, labelled by the lower-case method', async () => {
      const ok = await backend('ok', 'ok');
      const c = client({}, axios.create({ baseURL: ok.url }));
      await c.get('/users/1');
      await c.post('/users', { name: 'x' });
      await c.get('/users/2');
      expect(await calls('get', 'success')).to.equal(2);
      expect(await calls('post', 'success')).to.equal(1);
      expect(await value(`mesh_call_duration_seconds_count{${SERVICE},operation="get"}`)).to.equal(2);
      expect(await lines('mesh_lb_requests_total')).to.deep.equal([]);
    });

    it('counts 5xx as failed calls and 4xx as successful ones, rethrowing both unchanged', async () => {
      const ok = await backend('ok', 'ok');
      const c = client({}, axios.create({ baseURL: ok.url }));
      expect((await failure(c.get('/_/status/503'))).response?.status).to.equal(503);
      expect((await failure(c.get('/_/status/404'))).response?.status).to.equal(404);
      expect(await calls('get', 'failure', 'http_5xx')).to.equal(1);
      expect(await calls('get', 'success')).to.equal(1);
      expect(await value(`mesh_call_duration_seconds_count{${SERVICE},operation="get"}`)).to.equal(2);
    });

    it('classifies a reset connection, a stalled backend past its timeout, a closed port and a cancellation', async () => {
      const reset = await backend('reset', 'reset');
      const stall = await backend('stall', 'stall');
      const closed = await closedPort();
      const c = client();
      expect((await failure(c.get(`${reset.url}/x`))).code).to.equal('ECONNRESET');
      expect((await failure(c.get(`${stall.url}/x`, { timeout: 100 }))).code).to.equal('ECONNABORTED');
      expect((await failure(c.get(`${closed.url}/x`))).code).to.equal('ECONNREFUSED');
      const controller = new AbortController();
      const pending = c.get(`${stall.url}/y`, { signal: controller.signal });
      while (stall.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      expect((await failure(pending)).code).to.equal('ERR_CANCELED');
      expect(await calls('get', 'failure', 'connection_reset')).to.equal(1);
      expect(await calls('get', 'failure', 'timeout')).to.equal(1);
      expect(await calls('get', 'failure', 'connection_refused')).to.equal(1);
      expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
    });

    it('names the operation by option, by function, or per request', async () => {
      const ok = await backend('ok', 'ok');
      const fixed = client({ service: 'users', operation: 'users_api' }, axios.create({ baseURL: ok.url }));
      await fixed.get('/a');
      await fixed.get('/a', { mesh: { operation: 'get_user' } });
      const byConfig = instrumentAxios(axios.create({ baseURL: ok.url }), {
        service: 'orders',
        registry,
        operation: (config) => (config.url?.startsWith('/orders') ? 'list_orders' : ''),
      });
      await byConfig.get('/orders');
      await byConfig.delete('/other'); // '' is not a name: the method is used, and the fault counted
      expect(await calls('users_api', 'success')).to.equal(1);
      expect(await calls('get_user', 'success')).to.equal(1);
      expect(await value('mesh_calls_total{service="orders",operation="list_orders",status="success"}')).to.equal(1);
      expect(await value('mesh_calls_total{service="orders",operation="delete",status="success"}')).to.equal(1);
      expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
    });

    it('never throws from metrics code: a throwing operation function or isFailure is counted', async () => {
      const ok = await backend('ok', 'ok');
      const c = client(
        {
          operation: () => {
            throw new Error('bad');
          },
          isFailure: () => {
            throw new Error('worse');
          },
        },
        axios.create({ baseURL: ok.url }),
      );
      const r = await c.get('/a');
      expect(r.status).to.equal(200);
      expect(await calls('get', 'failure', 'other')).to.equal(1);
      expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(2);
    });

    it('resolves adapter names with the instance\'s own getAdapter when it has one (the default export does)', async () => {
      const ok = await backend('ok', 'ok');
      const base = axios.create({ baseURL: ok.url });
      const names: unknown[] = [];
      Object.assign(base, {
        getAdapter: (spec: Parameters<typeof axios.getAdapter>[0], config?: Parameters<typeof axios.getAdapter>[1]) => {
          names.push(spec);
          return axios.getAdapter(spec, config);
        },
      });
      const c = client({}, base);
      await c.get('/a');
      await c.get('/a', { adapter: 'fetch' });
      expect(names).to.deep.equal([['xhr', 'http', 'fetch'], 'fetch']);
      expect(await calls('get', 'success')).to.equal(2);
    });

    it('measures a request with its own adapter, and a config sent again', async () => {
      const ok = await backend('ok', 'ok');
      const c = client({}, axios.create({ baseURL: ok.url }));
      await c.get('/a', { adapter: 'fetch' });
      let seen = 0;
      await c.get('/a', {
        adapter: async (config) => {
          seen++;
          return { data: 'own', status: 200, statusText: 'OK', headers: {}, config };
        },
      });
      const err = await failure(c.get('/_/status/503'));
      await failure(c.request(err.config!));
      expect(seen).to.equal(1);
      expect(await calls('get', 'success')).to.equal(2);
      expect(await calls('get', 'failure', 'http_5xx')).to.equal(2);
      expect(ok.requests.length).to.equal(3);
    });
  });

  describe("naming: 'otel'", () => {
    it('records every attempt in http_client_request_duration_seconds with OpenTelemetry attributes, line by line', async () => {
      const a = await backend('ok', 'a');
      const closed = await closedPort();
      const c = client({ naming: 'otel', balancer: balancer([a.url]) });
      await c.get('/users/1');
      await c.post('/users', { n: 1 });
      expect((await failure(c.get('/_/status/503'))).response?.status).to.equal(503);
      expect((await failure(c.get('/_/status/404'))).response?.status).to.equal(404);
      const direct = client({ naming: 'otel', service: 'direct' }, axios.create());
      expect((await failure(direct.request({ method: 'purge', url: `${closed.url}/x` }))).code).to.equal('ECONNREFUSED');
      const series = (method: string, port: number, status?: number, error?: string): string =>
        `{http_request_method="${method}",server_address="127.0.0.1",server_port="${port}"` +
        `${status === undefined ? '' : `,http_response_status_code="${status}"`}${error === undefined ? '' : `,error_type="${error}"`}}`;
      expect(await lines('http_client_request_duration_seconds_count')).to.deep.equal([
        `http_client_request_duration_seconds_count${series('GET', a.port, 200)} 1`,
        `http_client_request_duration_seconds_count${series('POST', a.port, 200)} 1`,
        `http_client_request_duration_seconds_count${series('GET', a.port, 503, '503')} 1`,
        `http_client_request_duration_seconds_count${series('GET', a.port, 404, '404')} 1`,
        `http_client_request_duration_seconds_count${series('_OTHER', closed.port, undefined, 'connection_refused')} 1`,
      ]);
      // the balancer's own families keep their names
      expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${a.url}",strategy="round_robin"}`)).to.equal(4);
    });
  });

  describe('with a balancer', () => {
    it('records each attempt\'s body sizes (the body sent, the bytes received on the wire) and time to the head', async () => {
      const gz = gzipSync('y'.repeat(4000));
      const server: Server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          if (req.url === '/gzip') {
            res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length, 'content-type': 'text/plain' });
            res.end(gz);
          } else if (req.url === '/gzip-chunked') {
            res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }); // no Content-Length
            res.write(gz.subarray(0, 10));
            setImmediate(() => res.end(gz.subarray(10)));
          } else {
            res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'text/plain' });
            res.write('abc');
            res.end('defg'); // chunked: no Content-Length
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const c = client({ balancer: balancer([url]) });
        expect((await c.post('/gzip', { n: 1 })).data).to.equal('y'.repeat(4000));
        expect((await c.post('/plain', 'héllo')).data).to.equal('abcdefg');
        expect((await failure(c.get('/fail'))).response?.status).to.equal(503);
        // compressed and chunked: axios hands back 4000 bytes, the wire carried the gzip bytes
        expect((await c.get('/gzip-chunked')).data).to.equal('y'.repeat(4000));
        const inst = `${SERVICE},instance="${url}"`;
        expect(await lines('mesh_lb_request_body_size_bytes_sum')).to.deep.equal([`mesh_lb_request_body_size_bytes_sum{${inst}} 13`]);
        expect(await value(`mesh_lb_request_body_size_bytes_count{${inst}}`)).to.equal(4);
        expect(await lines('mesh_lb_response_body_size_bytes_sum')).to.deep.equal([
          `mesh_lb_response_body_size_bytes_sum{${inst}} ${gz.length + 7 + 7 + gz.length}`,
        ]);
        expect(await value(`mesh_lb_response_body_size_bytes_bucket{${inst},le="64"}`)).to.equal(4);
        expect(await value(`mesh_lb_response_body_size_bytes_count{${inst}}`)).to.equal(4);
        // every attempt got a head: one time-to-head observation each
        expect(await lines('mesh_lb_response_first_byte_seconds_count')).to.deep.equal([
          `mesh_lb_response_first_byte_seconds_count{${inst}} 4`,
        ]);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('records no time to the head and no response size for an attempt that got no response', async () => {
      const closed = await closedPort();
      const c = client({ balancer: balancer([closed.url]) });
      expect((await failure(c.get('/users/1'))).code).to.equal('ECONNREFUSED');
      expect(await lines('mesh_lb_response_first_byte_seconds_count')).to.deep.equal([]);
      expect(await lines('mesh_lb_response_body_size_bytes_count')).to.deep.equal([]);
      expect(await lines('mesh_lb_request_body_size_bytes_count')).to.deep.equal([
        `mesh_lb_request_body_size_bytes_count{${SERVICE},instance="${closed.url}"} 1`,
      ]);
    });

    it('spreads attempts, counting each instance, its duration and its active connections', async () => {
      const a = await backend('ok', 'a');
      const b = await backend('ok', 'b');
      const c = client({ balancer: balancer([a.url, b.url]) });
      const answers: string[] = [];
      for (let i = 0; i < 4; i++) answers.push((await c.get<{ backend: string }>('/users/1')).data.backend);
      expect(answers).to.deep.equal(['a', 'b', 'a', 'b']);
      for (const x of [a, b]) {
        const inst = `${SERVICE},instance="${x.url}"`;
        expect(await value(`mesh_lb_requests_total{${inst},strategy="round_robin"}`)).to.equal(2);
        expect(await value(`mesh_lb_request_duration_seconds_count{${inst}}`)).to.equal(2);
        expect(await value(`mesh_lb_active_connections{${inst}}`)).to.equal(0);
        expect(await value(`mesh_lb_instance_health_score{${inst}}`)).to.equal(1);
      }
      expect(await calls('get', 'success')).to.equal(4);
      expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
    });

    for (const strategy of ['random', 'p2c_ewma'] as const) {
      it(`a balancer fault (a throwing random, ${strategy}) falls back to the first instance, not NoInstanceError`, async () => {
        const a = await backend('ok', 'a');
        const b = await backend('ok', 'b');
        const random = (): number => {
          throw new Error('entropy ran out');
        };
        const lb = balancer([a.url, b.url], { strategy, random });
        const c = client({ balancer: lb });
        for (let i = 0; i < 2; i++) expect((await c.get<{ backend: string }>('/users/1')).data.backend).to.equal('a');
        expect(await calls('get', 'success')).to.equal(2);
        expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(2);
        expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${a.url}",strategy="${strategy}"}`)).to.equal(2);
        expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${a.url}"}`)).to.equal(0);
        expect(lb.instances().map((x) => x.inFlight)).to.deep.equal([0, 0]);
        expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
      });
    }

    it('counts a throw from a foreign balancer as internal and fails the call with NoInstanceError', async () => {
      const foreign = {
        service: 'users',
        start: () => {
          throw new Error('foreign balancer broke');
        },
      } as unknown as Balancer;
      const c = client({ balancer: foreign });
      expect(isNoInstanceError(await failure(c.get('/users/1')))).to.equal(true);
      expect(await value('mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="no_instance"}`)).to.equal(1);
    });

    it('holds an active connection for the duration of an attempt', async () => {
      const stall = await backend('stall', 'stall');
      const c = client({ balancer: balancer([stall.url]) });
      const controller = new AbortController();
      const pending = c.get('/slow', { signal: controller.signal });
      while (stall.requests.length < 1) await new Promise((r) => setTimeout(r, 5));
      expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${stall.url}"}`)).to.equal(1);
      controller.abort();
      await failure(pending);
      expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${stall.url}"}`)).to.equal(0);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="cancelled"}`)).to.equal(1);
      expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${stall.url}"}`)).to.equal(1);
      expect(await calls('get', 'failure', 'cancelled')).to.equal(1);
    });

    it('classifies failed attempts per instance: reset, stall past the timeout, closed port, 5xx', async () => {
      const reset = await backend('reset', 'reset');
      const stall = await backend('stall', 'stall');
      const fail = await backend('fail', 'fail');
      const closed = await closedPort();
      const b = balancer([reset.url, stall.url, closed.url, fail.url], { outlier: false });
      const c = client({ balancer: b }, axios.create({ timeout: 150 }));
      for (let i = 0; i < 4; i++) await failure(c.get('/x'));
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="connection_reset"}`)).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="timeout"}`)).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="connection_refused"}`)).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
      for (const t of ['connection_reset', 'timeout', 'connection_refused', 'http_5xx']) {
        expect(await calls('get', 'failure', t)).to.equal(1);
      }
      for (const url of [reset.url, stall.url, closed.url, fail.url]) {
        expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${url}"}`)).to.equal(0.8);
        expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${url}",strategy="round_robin"}`)).to.equal(1);
      }
    });

    it('judges a response axios resolves (validateStatus) by isFailure too', async () => {
      const ok = await backend('ok', 'ok');
      const c = client({ balancer: balancer([ok.url]) }, axios.create({ validateStatus: () => true }));
      expect((await c.get('/_/status/502')).status).to.equal(502);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
      expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${ok.url}"}`)).to.equal(0.8);
      expect(await calls('get', 'failure', 'http_5xx')).to.equal(1);
    });

    it('a 4xx answer is a successful attempt: no error, health intact', async () => {
      const ok = await backend('ok', 'ok');
      const c = client({ balancer: balancer([ok.url]) });
      await failure(c.get('/_/status/404'));
      expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
      expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${ok.url}"}`)).to.equal(1);
      expect(await calls('get', 'success')).to.equal(1);
    });

    it('ejects an instance whose attempts keep failing and takes it back after the ejection', async () => {
      const a = await backend('fail', 'a');
      const b = await backend('ok', 'b');
      let now = 0;
      const bal = balancer([a.url, b.url], { now: () => now, outlier: { consecutiveFailures: 2, ejectionMs: 1000 } });
      const c = client({ balancer: bal });
      for (let i = 0; i < 4; i++) await c.get('/x').catch(() => undefined); // a, b, a (ejected), b
      expect(bal.instances()[0]).to.include({ ejected: true, ejections: 1 });
      expect(await value(`mesh_healthy_instances{${SERVICE}}`)).to.equal(1);
      for (let i = 0; i < 5; i++) expect((await c.get<{ backend: string }>('/x')).data.backend).to.equal('b');
      expect(a.requests.length).to.equal(2);
      now += 1000;
      a.mode = 'ok';
      const seen = new Set<string>();
      for (let i = 0; i < 2; i++) seen.add((await c.get<{ backend: string }>('/x')).data.backend);
      expect([...seen].sort()).to.deep.equal(['a', 'b']);
      expect(await value(`mesh_healthy_instances{${SERVICE}}`)).to.equal(2);
    });

    it('fails a call with NoInstanceError when no instance is registered', async () => {
      const c = client({ balancer: balancer([]) });
      const err = await failure(c.get('/x'));
      expect(isNoInstanceError(err)).to.equal(true);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="no_instance"}`)).to.equal(1);
      expect(await calls('get', 'failure', 'other')).to.equal(1);
    });

    it('lets a request with an absolute URL bypass the balancer', async () => {
      const a = await backend('ok', 'a');
      const other = await backend('ok', 'other');
      const c = client({ balancer: balancer([a.url]) });
      expect((await c.get<{ backend: string }>(`${other.url}/x`)).data.backend).to.equal('other');
      expect(await lines('mesh_lb_requests_total')).to.deep.equal([]);
      expect(await calls('get', 'success')).to.equal(1);
    });

    it('keeps the counts exact under 50 concurrent calls', async () => {
      const a = await backend({ delayMs: 5 }, 'a');
      const b = await backend('ok', 'b');
      const c = client({ balancer: balancer([a.url, b.url], { strategy: 'least_connections' }) });
      await Promise.all(Array.from({ length: 50 }, () => c.get('/x')));
      const total = (await lines('mesh_lb_requests_total')).reduce((s, l) => s + Number(l.split(' ')[1]), 0);
      expect(total).to.equal(50);
      expect(a.requests.length + b.requests.length).to.equal(50);
      expect(await calls('get', 'success')).to.equal(50);
      for (const x of [a, b]) {
        expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${x.url}"}`)).to.equal(0);
      }
    });

    it('p2c_ewma sends more to a fast instance than to a slow one (real backends)', async () => {
      const slow = await backend({ delayMs: 100 }, 'slow');
      const fast = await backend('ok', 'fast');
      // a short decay, so the first (cold) requests do not weigh for the usual 10 s
      const c = client({ balancer: balancer([slow.url, fast.url], { strategy: 'p2c_ewma', latencyDecayMs: 200 }) });
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 20; i++) await c.get('/x');
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      expect(slow.requests.length + fast.requests.length).to.equal(80);
      expect(fast.requests.length).to.be.greaterThan(slow.requests.length * 3);
    });
  });

  describe('secrets', () => {
    it('never puts credentials, paths or queries from baseURL, instances or requests in /metrics', async () => {
      const ok = await backend('ok', 'ok');
      const port = ok.port;
      const plain = instrumentAxios(axios.create({ baseURL: `http://alice:pw-plain@127.0.0.1:${port}/tenant-9` }), {
        service: 'plain',
        registry,
      });
      await plain.get('/users/uid-4242?token=tok-2', { params: { key: 'qk-1' } });
      await failure(plain.get('/_/status/503?token=tok-3'));
      expect(ok.requests.map((r) => r.url)).to.deep.equal(['/tenant-9/users/uid-4242?token=tok-2&key=qk-1', '/tenant-9/_/status/503?token=tok-3']);
      const b = balancer([`http://bob:pw-balanced@127.0.0.1:${port}/base-7`]);
      const balanced = client({ balancer: b });
      await balanced.get('/accounts/acct-7777?api_key=ak-5');
      expect(ok.requests.at(-1)?.url).to.equal('/base-7/accounts/acct-7777?api_key=ak-5');
      expect(ok.requests.at(-1)?.headers.authorization).to.equal(`Basic ${Buffer.from('bob:pw-balanced').toString('base64')}`);
      const text = await registry.metrics();
      for (const secret of ['alice', 'pw-plain', 'tenant-9', 'qk-1', 'tok-2', 'tok-3', 'bob', 'pw-balanced', 'base-7', 'ak-5', 'uid-4242', 'acct-7777', 'accounts']) {
        expect(text, secret).to.not.include(secret);
      }
      expect(text).to.include(`instance="http://127.0.0.1:${port}"`);
    });
  });

  describe('with a policy', () => {
    const scenario = async (policy: (service: string) => InstrumentedPolicy | PolicyLike) => {
      const a = await backend('fail', 'a');
      const b = await backend('ok', 'b');
      const p = policy('users');
      if ('forOperation' in p) disposables.push(p);
      const c = client({ balancer: balancer([a.url, b.url], { strategy: 'round_robin' }), policy: p });
      const r = await c.get<{ backend: string }>('/users/1', { mesh: { operation: 'get_user' } });
      expect(r.data.backend).to.equal('b');
      return { a, b };
    };

    const expectScenario = async (a: Backend, b: Backend): Promise<void> => {
      expect(await value(`mesh_calls_total{${SERVICE},operation="get_user",status="success"}`)).to.equal(1);
      expect(await lines('mesh_calls_total')).to.have.length(1);
      expect(await value(`mesh_call_duration_seconds_count{${SERVICE},operation="get_user"}`)).to.equal(1);
      expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${a.url}",strategy="round_robin"}`)).to.equal(1);
      expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${b.url}",strategy="round_robin"}`)).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(1);
      expect(await lines('mesh_lb_errors_total')).to.have.length(1);
      expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="get_user",attempt="1"}`)).to.equal(1);
      expect(await lines('mesh_retry_attempts_total')).to.have.length(1);
      expect(await value(`mesh_retry_success_total{${SERVICE},operation="get_user"}`)).to.equal(1);
      expect(await lines('mesh_retry_failure_total')).to.deep.equal([]);
      expect(a.requests.length).to.equal(1);
      expect(b.requests.length).to.equal(1);
    };

    it('the issue scenario: A (503) and B (200), round_robin, retries: 2, one get_user call', async () => {
      const { a, b } = await scenario((service) =>
        meshPolicy({ service, registry, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 } }),
      );
      await expectScenario(a, b);
      expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${a.url}"}`)).to.equal(0.8);
      expect(await value(`mesh_circuit_breaker_state{${SERVICE}}`)).to.equal(0);
    });

    const plainRetries: [string, () => PolicyLike][] = [
      ['cockatiel 4', () => cockatiel4.retry(cockatiel4.handleAll, { maxAttempts: 2, backoff: new cockatiel4.ConstantBackoff(1) })],
      ['cockatiel 3', () => cockatiel3.retry(cockatiel3.handleAll, { maxAttempts: 2, backoff: new cockatiel3.ConstantBackoff(1) })],
    ];
    for (const [name, make] of plainRetries) {
      it(`instruments a plain ${name} retry policy once, with the same counts`, async () => {
        const { a, b } = await scenario(make);
        await expectScenario(a, b);
      });
    }

    it('retries pick again, so a call can go through every instance', async () => {
      const a = await backend('fail', 'a');
      const b = await backend('fail', 'b');
      const c3 = await backend('ok', 'c');
      const policy = meshPolicy({ service: 'users', registry, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 } });
      disposables.push(policy);
      const c = client({ balancer: balancer([a.url, b.url, c3.url]), policy });
      expect((await c.get<{ backend: string }>('/x')).data.backend).to.equal('c');
      expect(await calls('get', 'success')).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(2);
      expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="get",attempt="2"}`)).to.equal(1);
    });

    it('attributes every retry of 40 concurrent calls to its own operation', async () => {
      const a = await backend('fail', 'a');
      const b = await backend('ok', 'b');
      const policy = meshPolicy({
        service: 'users',
        registry,
        retry: { retries: 4, initialDelayMs: 1, maxDelayMs: 3 },
        circuitBreaker: false,
      });
      disposables.push(policy);
      const c = client({ balancer: balancer([a.url, b.url], { outlier: false }), policy });
      const ops = ['get_user', 'list_users'];
      await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => {
          const operation = ops[i % 2]!;
          return c.get('/x', { mesh: { operation }, headers: { 'x-op': operation } });
        }),
      );
      for (const op of ops) {
        const failedAttempts = a.requests.filter((r) => r.headers['x-op'] === op).length;
        const succeeded = b.requests.filter((r) => r.headers['x-op'] === op).length;
        const gaveUp = (await calls(op, 'failure', 'http_5xx')) ?? 0;
        const retries = (await lines('mesh_retry_attempts_total'))
          .filter((l) => l.includes(`operation="${op}"`))
          .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
        // a call that succeeded retried once per failed attempt; one that gave up, once less
        expect(retries, op).to.equal(failedAttempts - gaveUp);
        expect(await calls(op, 'success')).to.equal(succeeded);
        expect(succeeded + gaveUp).to.equal(20);
      }
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(a.requests.length);
    });

    for (const [name, module] of [['cockatiel 4', cockatiel4], ['cockatiel 3', cockatiel3]] as const) {
      it(`delivers a streamed body in full under meshPolicy({ timeoutMs }) (${name})`, async () => {
        const server = await streamingServer();
        try {
          const policy = meshPolicy({ service: 'users', registry, cockatiel: module, retry: false, timeoutMs: 5000 });
          disposables.push(policy);
          for (const b of [undefined, balancer([server.url])]) {
            const c = client({ policy, ...(b === undefined ? {} : { balancer: b }) }, axios.create({ baseURL: server.url }));
            const r = await c.get<Readable>('/stream', { responseType: 'stream' });
            expect(await readAll(r.data)).to.equal('first-part;second-part');
          }
          expect(await calls('get', 'success')).to.equal(2);
        } finally {
          await server.close();
        }
      });
    }

    it('leaves no listener behind on the caller\'s signal after 100 calls', async () => {
      const ok = await backend('ok', 'ok');
      const policy = meshPolicy({ service: 'users', registry, retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 } });
      disposables.push(policy);
      const c = client({ balancer: balancer([ok.url]), policy });
      const controller = new AbortController();
      for (let round = 0; round < 20; round++) {
        await Promise.all(Array.from({ length: 5 }, () => c.get('/x', { signal: controller.signal })));
      }
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      expect(await calls('get', 'success')).to.equal(100);
    });

    it('gives each call its own signal, so concurrent attempts never pile listeners on a shared one', async () => {
      const policy = meshPolicy({ service: 'users', registry, retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 } });
      disposables.push(policy);
      const signals = new Set<AbortSignal>();
      let most = 0;
      const c = client({ policy });
      await Promise.all(
        Array.from({ length: 30 }, () =>
          c.get('http://127.0.0.1:9/x', {
            adapter: async (config) => {
              const signal = config.signal as AbortSignal;
              signals.add(signal);
              signal.addEventListener('abort', () => undefined, { once: true });
              await new Promise((r) => setTimeout(r, 10));
              most = Math.max(most, getEventListeners(signal, 'abort').length);
              return { data: null, status: 200, statusText: 'OK', headers: {}, config };
            },
          }),
        ),
      );
      expect(signals.size).to.equal(30);
      expect(most).to.equal(1);
      expect(await calls('get', 'success')).to.equal(30);
    });

    it('does not retry a 4xx: one attempt, one successful call', async () => {
      const ok = await backend('ok', 'ok');
      const policy = meshPolicy({ service: 'users', registry, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 } });
      disposables.push(policy);
      const c = client({ balancer: balancer([ok.url]), policy });
      expect((await failure(c.get('/_/status/404'))).response?.status).to.equal(404);
      expect(ok.requests.length).to.equal(1);
      expect(await calls('get', 'success')).to.equal(1);
      expect(await lines('mesh_retry_attempts_total')).to.deep.equal([]);
      expect(await lines('mesh_lb_errors_total')).to.deep.equal([]);
    });

    it('gives up after the last retry: one failed call, three failed attempts', async () => {
      const a = await backend('fail', 'a');
      const policy = meshPolicy({
        service: 'users',
        registry,
        retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 },
        circuitBreaker: false,
      });
      disposables.push(policy);
      const c = client({ balancer: balancer([a.url], { outlier: false }), policy });
      await failure(c.get('/x', { mesh: { operation: 'get_user' } }));
      expect(a.requests.length).to.equal(3);
      expect(await calls('get_user', 'failure', 'http_5xx')).to.equal(1);
      expect(await lines('mesh_calls_total')).to.have.length(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="http_5xx"}`)).to.equal(3);
      expect(await value(`mesh_retry_failure_total{${SERVICE},operation="get_user",error_type="http_5xx"}`)).to.equal(1);
    });

    it('an open circuit rejects calls without an attempt, as circuit_open', async () => {
      const a = await backend('fail', 'a');
      const policy = meshPolicy({
        service: 'users',
        registry,
        retry: false,
        circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
      });
      disposables.push(policy);
      const c = client({ balancer: balancer([a.url], { outlier: false }), policy });
      for (let i = 0; i < 3; i++) await failure(c.get('/x'));
      expect(a.requests.length).to.equal(2);
      expect(await value(`mesh_circuit_breaker_state{${SERVICE}}`)).to.equal(1);
      expect(await calls('get', 'failure', 'http_5xx')).to.equal(2);
      expect(await calls('get', 'failure', 'circuit_open')).to.equal(1);
      expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${a.url}",strategy="round_robin"}`)).to.equal(2);
    });

    it('a timeout policy aborts the attempt and the attempt counts as a timeout', async () => {
      const stall = await backend('stall', 'stall');
      const policy = meshPolicy({ service: 'users', registry, retry: false, circuitBreaker: false, timeoutMs: 80 });
      disposables.push(policy);
      const c = client({ balancer: balancer([stall.url]), policy });
      await failure(c.get('/x'));
      expect(await calls('get', 'failure', 'timeout')).to.equal(1);
      expect(await value(`mesh_lb_active_connections{${SERVICE},instance="${stall.url}"}`)).to.equal(0);
      expect(await value(`mesh_lb_request_duration_seconds_count{${SERVICE},instance="${stall.url}"}`)).to.equal(1);
      expect(await value(`mesh_lb_errors_total{${SERVICE},error_type="timeout"}`)).to.equal(1);
      expect(await lines('mesh_lb_errors_total')).to.have.length(1);
      expect(await value(`mesh_lb_instance_health_score{${SERVICE},instance="${stall.url}"}`)).to.equal(0.8);
    });
  });
});
