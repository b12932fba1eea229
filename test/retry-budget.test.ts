import { expect } from 'chai';
import axios from 'axios';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from './helpers/client.js';
import { createBalancer } from '../lib/balancer.js';
import { instrumentAxios } from '../interceptors/axios.js';
import { meshPolicy } from '../interceptors/cockatiel.js';
import type { InstrumentedPolicy, MeshPolicyOptions } from '../interceptors/policy-types.js';
import { meshDispatcher } from '../interceptors/undici.js';
import { closeAll, startBackend, type Backend } from './helpers/backends.js';
import { sample, samplesOf } from './helpers/exposition.js';

const SERVICE = 'service="users"';

/** A backend answering 503 to everything, noting when each request came and which call (`x-call`) it belongs to. */
async function outageBackend(): Promise<{ url: string; seen: { at: number; call: string }[]; close(): Promise<void> }> {
  const seen: { at: number; call: string }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ at: performance.now(), call: String(req.headers['x-call']) });
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('retry budget (meshPolicy({ retryBudget }))', () => {
  let registry: Registry;
  let backends: Backend[];
  const policies: InstrumentedPolicy[] = [];
  const policy = (o: Partial<MeshPolicyOptions>): InstrumentedPolicy => {
    const p = meshPolicy({ service: 'users', registry, circuitBreaker: false, ...o });
    policies.push(p);
    return p;
  };
  const value = (series: string): Promise<number | undefined> => sample(registry, series);

  beforeEach(() => {
    registry = new Registry();
    backends = [];
  });
  afterEach(async () => {
    for (const p of policies.splice(0)) p.dispose();
    await closeAll(backends);
  });

  describe('options', () => {
    const bad: [string, Partial<MeshPolicyOptions>, RegExp][] = [
      ['ratio', { retryBudget: { ratio: -0.1 } }, /retryBudget.ratio must be a number from 0 to 1000, got -0.1/],
      ['minRetriesPerSecond', { retryBudget: { minRetriesPerSecond: Number.NaN } }, /retryBudget.minRetriesPerSecond .*got NaN/],
      ['windowMs', { retryBudget: { windowMs: 0 } }, /retryBudget.windowMs must be a number from 1 to .*got 0/],
      ['the whole option', { retryBudget: 5 as never }, /retryBudget must be an object or false, got 5/],
      ['a budget without retries', { retry: false, retryBudget: {} }, /retryBudget needs retry/],
    ];
    for (const [what, o, message] of bad) {
      it(`throws a TypeError naming ${what}`, () => {
        expect(() => policy(o)).to.throw(TypeError, message);
      });
    }

    it('the defaults: ratio 0.2, 10 retries a second over 10 s (100 left before any call)', async () => {
      policy({ retryBudget: {} });
      expect(await value(`mesh_retry_budget_remaining{${SERVICE}}`)).to.equal(100);
    });

    it('two policies with budgets for one service: the gauge shows what both allow together, and one disposed leaves the other', async () => {
      policy({ retryBudget: {} });
      const second = policy({ retryBudget: { minRetriesPerSecond: 3, windowMs: 1000 } });
      expect(await value(`mesh_retry_budget_remaining{${SERVICE}}`)).to.equal(103);
      second.dispose();
      expect(await value(`mesh_retry_budget_remaining{${SERVICE}}`)).to.equal(100);
    });
  });

  it('each call deposits ratio, each retry takes 1; a refused retry fails the call with its last error (axios)', async () => {
    const down = await startBackend('fail', { name: 'down' });
    backends.push(down);
    const p = policy({ retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 }, retryBudget: { ratio: 0.5, minRetriesPerSecond: 0, windowMs: 60_000 } });
    const client = instrumentAxios(axios.create({ baseURL: down.url }), { service: 'users', registry, policy: p, operation: 'get_user' });
    const statuses: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(await client.get('/x').then((r) => r.status, (e: { response?: { status: number } }) => e.response?.status));
    }
    // 0.5: no retry; 1.0: one retry (0 left); 0.5: none; 1.0: one
    expect(statuses).to.deep.equal([503, 503, 503, 503]);
    expect(down.requests.length).to.equal(6);
    expect(await value(`mesh_retry_budget_exhausted_total{${SERVICE},operation="get_user"}`)).to.equal(2);
    expect(await value(`mesh_retry_attempts_total{${SERVICE},operation="get_user",attempt="1"}`)).to.equal(2);
    expect(await value(`mesh_calls_total{${SERVICE},operation="get_user",status="failure",error_type="http_5xx"}`)).to.equal(4);
    expect(await value(`mesh_retry_budget_remaining{${SERVICE}}`)).to.equal(0);
  });

  it('is shared by every call through one policy, all operations together', async () => {
    const down = await startBackend('fail', { name: 'down' });
    backends.push(down);
    const p = policy({ retry: { retries: 3, initialDelayMs: 1, maxDelayMs: 1 }, retryBudget: { ratio: 0, minRetriesPerSecond: 1, windowMs: 3000 } });
    const a = instrumentAxios(axios.create({ baseURL: down.url }), { service: 'users', registry, policy: p, operation: 'a' });
    const b = instrumentAxios(axios.create({ baseURL: down.url }), { service: 'users', registry, policy: p, operation: 'b' });
    await a.get('/x').catch(() => undefined); // 3 retries from the floor of 3
    await b.get('/x').catch(() => undefined); // none left
    expect(down.requests.length).to.equal(5);
    expect(await value(`mesh_retry_budget_exhausted_total{${SERVICE},operation="b"}`)).to.equal(1);
    expect(samplesOf(await registry.metrics(), 'mesh_retry_budget_exhausted_total')).to.have.length(1);
  });

  it('under a 10 s outage with steady load (fetch), retries per second stay within ratio x calls + floor, counts exact', async function () {
    this.timeout(30_000);
    const down = await outageBackend();
    const ratio = 0.2;
    const floor = 5;
    try {
      const p = policy({ retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 }, retryBudget: { ratio, minRetriesPerSecond: floor, windowMs: 1000 } });
      const balancer = createBalancer({ service: 'users', registry, instances: [down.url], outlier: false });
      const dispatcher = meshDispatcher({ service: 'users', registry, balancer, policy: p });
      const started = performance.now();
      const pending: Promise<number>[] = [];
      let n = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (performance.now() - started >= 10_000) {
            clearInterval(timer);
            resolve();
            return;
          }
          const headers = { 'x-call': String(n++) };
          pending.push(fetch('http://users/x', { dispatcher, headers }).then(async (r) => (await r.arrayBuffer(), r.status)));
        }, 25);
      });
      const statuses = await Promise.all(pending);
      balancer.dispose();
      await dispatcher.close();
      expect(statuses.every((s) => s === 503)).to.equal(true);

      // at the backend: a call's first request, then its retries
      const firstSeen = new Set<string>();
      const attemptsOf = new Map<string, number>();
      const callsAt: number[] = [];
      const retriesAt: number[] = [];
      for (const { at, call } of down.seen) {
        attemptsOf.set(call, (attemptsOf.get(call) ?? 0) + 1);
        if (firstSeen.has(call)) retriesAt.push(at - started);
        else {
          firstSeen.add(call);
          callsAt.push(at - started);
        }
      }
      expect(firstSeen.size).to.equal(n);
      // The budget's window is 1 s kept in ten 100 ms slices, so at any moment it covers the last 0.9 to 1 s: at each
      // retry, the retries of the last 0.9 s were paid by the calls of the last 1 s and the floor. Backend arrival
      // times are a few ms after the client's decisions; 20 ms of margin covers that.
      for (const t of retriesAt) {
        const retries = retriesAt.filter((x) => x > t - 880 && x <= t).length;
        const calls = callsAt.filter((x) => x > t - 1020 && x <= t).length;
        expect(retries, `at ${Math.round(t)} ms: ${retries} retries for ${calls} calls`).to.be.at.most(Math.floor(ratio * calls + floor));
      }
      // and over the whole outage, retries per second stayed within ratio x calls per second + floor
      const seconds = (performance.now() - started) / 1000;
      expect(retriesAt.length / seconds).to.be.at.most((ratio * n) / seconds + floor);
      expect(retriesAt.length).to.be.lessThan(n); // without the budget: 2 per call
      // exact counts: every call once, every retry once, every refused retry once
      const refused = [...attemptsOf.values()].filter((a) => a < 3).length;
      expect(await value(`mesh_calls_total{${SERVICE},operation="get",status="failure",error_type="http_5xx"}`)).to.equal(n);
      expect(await value(`mesh_retry_budget_exhausted_total{${SERVICE},operation="get"}`)).to.equal(refused);
      const retryLines = samplesOf(await registry.metrics(), 'mesh_retry_attempts_total');
      expect(retryLines.reduce((sum, l) => sum + Number(l.split(' ')[1]), 0)).to.equal(retriesAt.length);
      expect(await value(`mesh_lb_requests_total{${SERVICE},instance="${down.url}",strategy="round_robin"}`)).to.equal(down.seen.length);
    } finally {
      await down.close();
    }
  });
});
