import axios, { AxiosError } from 'axios';
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Registry } from './helpers/client.js';
import * as cockatiel4 from 'cockatiel';
import * as cockatiel3 from 'cockatiel3';
import { instrumentAxios } from '../interceptors/axios.js';
import { instrumentPolicy } from '../interceptors/instrument-policy.js';
import { meshPolicy } from '../interceptors/mesh-policy.js';
import { createBalancer, type Balancer } from '../lib/balancer.js';
import { classifyError } from '../lib/classify-error.js';
import { defaultIsFailure, isBrokenResponse } from '../lib/failure.js';
import { sample } from './helpers/exposition.js';

/**
 * A loopback backend that answers `200` with a `content-length` of 100, writes the first bytes of the body and then
 * ends the connection: with a FIN (`socket.destroy()`), or with a RST (`socket.resetAndDestroy()`). `cutFirst`
 * requests are cut (all of them by default); later ones get the whole body.
 */
async function cuttingBackend(how: 'fin' | 'rst', cutFirst = Infinity): Promise<{ url: string; seen(): number; close(): Promise<void> }> {
  let seen = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ ok: true, pad: 'x'.repeat(100) }).slice(0, 100);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    if (++seen > cutFirst) {
      res.end(body);
      return;
    }
    res.write(body.slice(0, 20), () => {
      setTimeout(() => (how === 'rst' ? req.socket.resetAndDestroy() : req.socket.destroy()), 5);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<AxiosError> {
  try {
    await p;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the call to reject');
}

const fast = { retries: 2, initialDelayMs: 1, maxDelayMs: 1 };

describe('a response cut after its head (connection reset mid-body)', () => {
  let registry: Registry;
  const closers: (() => unknown)[] = [];
  const value = (series: string): Promise<number | undefined> => sample(registry, series);
  const calls = (status: string, errorType?: string): Promise<number | undefined> =>
    value(`mesh_calls_total{service="users",operation="get_user",status="${status}"${errorType ? `,error_type="${errorType}"` : ''}}`);
  const balancer = (url: string): Balancer => {
    const b = createBalancer({ service: 'users', instances: [url], registry });
    closers.push(() => b.dispose());
    return b;
  };
  const backend = async (how: 'fin' | 'rst', cutFirst?: number): ReturnType<typeof cuttingBackend> => {
    const b = await cuttingBackend(how, cutFirst);
    closers.push(() => b.close());
    return b;
  };

  beforeEach(() => {
    registry = new Registry();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  describe('what the kit makes of the error', () => {
    it('an error carrying a 2xx/3xx status is a failure; a response, or an error wrapping a 4xx, is not', () => {
      const cut = Object.assign(new Error('stream has been aborted'), { code: 'ERR_BAD_RESPONSE', response: { status: 200 } });
      expect(defaultIsFailure(cut)).to.equal(true);
      expect(isBrokenResponse(cut)).to.equal(true);
      expect(defaultIsFailure(Object.assign(new Error('moved'), { response: { status: 302 } }))).to.equal(true);
      expect(defaultIsFailure({ status: 200, data: 'ok' })).to.equal(false);
      expect(isBrokenResponse({ status: 200, data: 'ok' })).to.equal(false);
      expect(defaultIsFailure(Object.assign(new Error('not found'), { response: { status: 404 } }))).to.equal(false);
      expect(isBrokenResponse(Object.assign(new Error('unavailable'), { response: { status: 503 } }))).to.equal(false);
      expect(defaultIsFailure(Object.assign(new Error('unavailable'), { response: { status: 503 } }))).to.equal(true);
    });

    it('classifies axios\'s "stream has been aborted" (ERR_BAD_RESPONSE with a 2xx) as connection_reset', () => {
      const cut = new AxiosError('stream has been aborted', 'ERR_BAD_RESPONSE', undefined, undefined, { status: 200 } as never);
      expect(classifyError(cut)).to.equal('connection_reset');
      const fiveXx = new AxiosError('failed', 'ERR_BAD_RESPONSE', undefined, undefined, { status: 503 } as never);
      expect(classifyError(fiveXx)).to.equal('http_5xx');
      expect(classifyError(new AxiosError('maxContentLength size of 10 exceeded', 'ERR_BAD_RESPONSE'))).to.equal('other');
    });
  });

  for (const how of ['fin', 'rst'] as const) {
    describe(`through axios, the connection ended by a ${how.toUpperCase()}`, () => {
      it('without a policy: every call rejects and is a failed call and a failed attempt (connection_reset)', async () => {
        const b = await backend(how);
        const lb = balancer(b.url);
        const client = instrumentAxios(axios.create(), { service: 'users', registry, balancer: lb, operation: 'get_user' });
        for (let i = 0; i < 4; i++) {
          const e = await rejection(client.get('/users/1'));
          expect(axios.isAxiosError(e)).to.equal(true);
        }
        expect(await calls('success')).to.equal(undefined);
        expect(await calls('failure', 'connection_reset')).to.equal(4);
        expect(await value('mesh_call_duration_seconds_count{service="users",operation="get_user"}')).to.equal(4);
        expect(await value(`mesh_lb_requests_total{service="users",instance="${b.url}",strategy="round_robin"}`)).to.equal(4);
        expect(await value('mesh_lb_errors_total{service="users",error_type="connection_reset"}')).to.equal(4);
        expect(lb.instances()[0]?.healthScore).to.be.below(1);
        expect(b.seen()).to.equal(4);
      });

      it('with meshPolicy: each cut attempt is retried; a call that still rejects is a failure, never a success', async () => {
        const b = await backend(how);
        const policy = meshPolicy({ service: 'users', operation: 'get_user', registry, retry: fast, circuitBreaker: false });
        closers.push(() => policy.dispose());
        const client = instrumentAxios(axios.create(), { service: 'users', registry, balancer: balancer(b.url), policy });
        for (let i = 0; i < 4; i++) await rejection(client.get('/users/1', { mesh: { operation: 'get_user' } }));
        expect(b.seen()).to.equal(12); // 4 calls × 3 attempts
        expect(await calls('success')).to.equal(undefined);
        expect(await calls('failure', 'connection_reset')).to.equal(4);
        expect(await value('mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}')).to.equal(4);
        expect(await value('mesh_retry_attempts_total{service="users",operation="get_user",attempt="2"}')).to.equal(4);
        expect(await value('mesh_retry_failure_total{service="users",operation="get_user",error_type="connection_reset"}')).to.equal(4);
        expect(await value(`mesh_lb_requests_total{service="users",instance="${b.url}",strategy="round_robin"}`)).to.equal(12);
        expect(await value('mesh_lb_errors_total{service="users",error_type="connection_reset"}')).to.equal(12);
      });

      it('with meshPolicy: a cut first attempt is retried and the call succeeds on the whole body', async () => {
        const b = await backend(how, 1);
        const policy = meshPolicy({ service: 'users', operation: 'get_user', registry, retry: fast });
        closers.push(() => policy.dispose());
        const client = instrumentAxios(axios.create(), { service: 'users', registry, balancer: balancer(b.url), policy });
        const res = await client.get<{ ok: boolean }>('/users/1', { mesh: { operation: 'get_user' } });
        expect(res.status).to.equal(200);
        expect(b.seen()).to.equal(2);
        expect(await calls('success')).to.equal(1);
        expect(await calls('failure', 'connection_reset')).to.equal(undefined);
        expect(await value('mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}')).to.equal(1);
        expect(await value('mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
        expect(await value('mesh_lb_errors_total{service="users",error_type="connection_reset"}')).to.equal(1);
      });
    });
  }

  it('with the fetch adapter too, and without a balancer', async () => {
    const b = await backend('fin');
    const client = instrumentAxios(axios.create({ baseURL: b.url, adapter: 'fetch' }), { service: 'users', registry, operation: 'get_user' });
    await rejection(client.get('/users/1'));
    expect(await calls('success')).to.equal(undefined);
    expect(await calls('failure', 'connection_reset')).to.equal(1);
  });

  it('a lenient isFailure (only 5xx) still counts a cut body as a failure, and meshPolicy retries it', async () => {
    const lenient = (o: unknown): boolean => ((o as { response?: { status?: number } }).response?.status ?? 500) >= 500;
    const b = await backend('fin');
    const plain = instrumentAxios(axios.create({ baseURL: b.url }), { service: 'users', registry, operation: 'get_user', isFailure: lenient });
    await rejection(plain.get('/users/1'));
    expect(await calls('failure', 'connection_reset')).to.equal(1);

    const policy = meshPolicy({ service: 'users', operation: 'get_user', registry, retry: fast, isFailure: lenient });
    closers.push(() => policy.dispose());
    const retried = instrumentAxios(axios.create(), { service: 'users', registry, balancer: balancer(b.url), policy });
    await rejection(retried.get('/users/1', { mesh: { operation: 'get_user' } }));
    expect(b.seen()).to.equal(1 + 3);
    expect(await calls('success')).to.equal(undefined);
    expect(await calls('failure', 'connection_reset')).to.equal(2);
  });

  describe('a whole 2xx/3xx answer that validateStatus refused is not a cut body', () => {
    /** A loopback backend answering every request with `status` and an empty body. */
    async function answering(status: number): Promise<{ url: string; seen(): number }> {
      let seen = 0;
      const server = createServer((_req, res) => {
        seen++;
        res.writeHead(status, status === 302 ? { location: '/elsewhere' } : { etag: '"v1"' });
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen };
    }

    for (const [status, config] of [
      [304, { headers: { 'if-none-match': '"v1"' } }],
      [302, { maxRedirects: 0 }],
      [204, { validateStatus: (s: number) => s === 200 }],
    ] as const) {
      it(`a ${status} refused by validateStatus: one attempt, not retried, no lb error, a successful call`, async () => {
        const b = await answering(status);
        const lb = balancer(b.url);
        const policy = meshPolicy({ service: 'users', operation: 'get_user', registry, retry: fast });
        closers.push(() => policy.dispose());
        const client = instrumentAxios(axios.create(), { service: 'users', registry, balancer: lb, policy });
        const e = await rejection(client.get('/users/1', { ...config, mesh: { operation: 'get_user' } }));
        expect(e.response?.status).to.equal(status);
        expect(isBrokenResponse(e)).to.equal(false);
        expect(defaultIsFailure(e)).to.equal(false);
        expect(classifyError(e)).to.not.equal('connection_reset');
        expect(b.seen()).to.equal(1);
        expect(await calls('success')).to.equal(1);
        expect(await value('mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}')).to.equal(undefined);
        expect(await value('mesh_lb_errors_total{service="users",error_type="connection_reset"}')).to.equal(undefined);
        expect(lb.instances()[0]?.healthScore).to.equal(1);
      });
    }

    it('a refused 3xx is still a failure when the caller\'s isFailure says so (not forced either way)', async () => {
      const b = await answering(304);
      const client = instrumentAxios(axios.create({ baseURL: b.url }), {
        service: 'users',
        registry,
        operation: 'get_user',
        isFailure: (o) => (o as { response?: { status?: number } }).response?.status === 304,
      });
      await rejection(client.get('/users/1'));
      expect(await calls('success')).to.equal(undefined);
      expect((await calls('failure', 'other')) ?? 0).to.equal(1);
    });
  });

  for (const [major, c] of [['cockatiel 4', cockatiel4], ['cockatiel 3', cockatiel3]] as const) {
    it(`a plain ${major} policy through instrumentPolicy records the rejected call as a failure`, async () => {
      const b = await backend('fin');
      const policy = instrumentPolicy(c.noop, { service: 'users', operation: 'get_user', registry, isFailure: () => false });
      const client = instrumentAxios(axios.create({ baseURL: b.url }), { service: 'users', registry, policy });
      await rejection(client.get('/users/1', { mesh: { operation: 'get_user' } }));
      expect(await calls('success')).to.equal(undefined);
      expect(await calls('failure', 'connection_reset')).to.equal(1);
    });
  }
});
