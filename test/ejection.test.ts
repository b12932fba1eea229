import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from './helpers/client.js';
import { createBalancer, type Balancer, type BalancerOptions } from '../lib/balancer.js';
import { successRateOutliers, resolveSuccessRateOptions } from '../lib/success-rate.js';
import { meshDispatcher, type MeshDispatcher } from '../interceptors/undici.js';
import { sample, samplesOf } from './helpers/exposition.js';

const SERVICE = 'service="users"';

/** A backend answering 503 to 3 requests in every 10 (`successPercent` 70) or never (100), in a fixed pattern. */
async function patterned(name: string, successPercent: 70 | 100): Promise<{ url: string; served: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((_req, res) => {
    const failing = successPercent === 70 && n++ % 10 < 3;
    if (successPercent === 100) n++;
    res.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ backend: name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: () => n,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('outlier ejection you can see', () => {
  let registry: Registry;
  let clock: number;
  const made: Balancer[] = [];
  const make = (o: Partial<BalancerOptions>): Balancer => {
    const b = createBalancer({ service: 'users', registry, now: () => clock, ...o });
    made.push(b);
    return b;
  };
  const value = (series: string): Promise<number | undefined> => sample(registry, series);

  beforeEach(() => {
    registry = new Registry();
    clock = 1000;
  });
  afterEach(() => {
    for (const b of made.splice(0)) b.dispose();
  });

  describe('options', () => {
    const bad: [string, unknown, RegExp][] = [
      ['intervalMs', { intervalMs: 0 }, /outlier.successRate.intervalMs must be a number >= 1, got 0/],
      ['minimumRequests', { minimumRequests: 1.5 }, /outlier.successRate.minimumRequests must be an integer >= 1, got 1.5/],
      ['minimumHosts', { minimumHosts: 0 }, /outlier.successRate.minimumHosts must be an integer >= 1, got 0/],
      ['stdevFactor', { stdevFactor: -1 }, /outlier.successRate.stdevFactor must be a number >= 0, got -1/],
      ['the whole option', null, /outlier.successRate must be an object or false, got null/],
    ];
    for (const [what, successRate, message] of bad) {
      it(`throws a TypeError naming ${what}`, () => {
        expect(() => make({ instances: ['http://10.0.0.1:1'], outlier: { successRate: successRate as never } })).to.throw(TypeError, message);
      });
    }

    it("defaults to Envoy's values, and false turns it off", () => {
      expect(resolveSuccessRateOptions(undefined)).to.deep.equal({ intervalMs: 10000, minimumRequests: 100, minimumHosts: 5, stdevFactor: 1.9 });
      expect(resolveSuccessRateOptions(false)).to.equal(null);
    });
  });

  it('the outlier rule: below mean - stdevFactor x stdev, among instances with enough requests', () => {
    const o = { intervalMs: 1, minimumRequests: 10, minimumHosts: 3, stdevFactor: 1 };
    const w = (requests: number, successes: number) => ({ window: { requests, successes } });
    const healthy1 = w(100, 100);
    const healthy2 = w(100, 100);
    const degraded = w(100, 70);
    // mean 0.9, stdev 0.1414: threshold 0.7586
    expect(successRateOutliers(o, [healthy1, healthy2, degraded])).to.deep.equal([degraded]);
    // with three instances one outlier is at most 1.155 deviations out: Envoy's 1.9 never ejects it
    expect(successRateOutliers({ ...o, stdevFactor: 1.9 }, [healthy1, healthy2, degraded])).to.deep.equal([]);
    // too few requests: not compared; then too few hosts
    expect(successRateOutliers(o, [healthy1, healthy2, w(9, 0)])).to.deep.equal([]);
  });

  it('consecutive failures: mesh_lb_ejections_total{reason} and mesh_lb_instance_ejected 1, back to 0 on return', async () => {
    const A = 'http://10.0.0.1:8080';
    const B = 'http://10.0.0.2:8080';
    const b = make({ instances: [A, B], outlier: { consecutiveFailures: 2, ejectionMs: 1000 } });
    expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${A}"}`)).to.equal(0);
    for (let i = 0; i < 2; i++) b.start()?.fail('http_5xx'); // A, B
    for (let i = 0; i < 2; i++) b.start()?.fail('http_5xx'); // A (ejected), then B is alone
    expect(await value(`mesh_lb_ejections_total{${SERVICE},instance="${A}",reason="consecutive_failures"}`)).to.equal(1);
    expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${A}"}`)).to.equal(1);
    expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${B}"}`)).to.equal(0);
    clock += 1000;
    b.instances();
    expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${A}"}`)).to.equal(0);
    b.deregister(A);
    expect(samplesOf(await registry.metrics(), 'mesh_lb_instance_ejected')).to.have.length(1);
    expect(await value(`mesh_lb_ejections_total{${SERVICE},instance="${A}",reason="consecutive_failures"}`)).to.equal(1);
  });

  describe('success rate, three real backends, one degraded to 70 % success (fetch through meshDispatcher)', () => {
    let servers: Awaited<ReturnType<typeof patterned>>[];
    let dispatcher: MeshDispatcher | undefined;
    beforeEach(async () => {
      servers = await Promise.all([patterned('a', 100), patterned('b', 100), patterned('c', 70)]);
    });
    afterEach(async () => {
      await dispatcher?.destroy();
      await Promise.all(servers.map((s) => s.close()));
    });

    const run = async (successRate: object, maxEjectedPercent = 50) => {
      const balancer = make({
        instances: servers.map((s) => s.url),
        outlier: { consecutiveFailures: 5, ejectionMs: 60_000, maxEjectedPercent, successRate },
      });
      dispatcher = meshDispatcher({ service: 'users', registry, balancer });
      for (let i = 0; i < 300; i++) await fetch('http://users/x', { dispatcher });
      clock += 10_000;
      await fetch('http://users/x', { dispatcher }); // the first attempt after the interval evaluates it
      return balancer;
    };

    it('ejects the degraded one for success_rate, and no traffic reaches it afterwards', async () => {
      const balancer = await run({ intervalMs: 10_000, minimumRequests: 50, minimumHosts: 3, stdevFactor: 1 });
      const [a, b, c] = servers.map((s) => s.url);
      expect(await value(`mesh_lb_ejections_total{${SERVICE},instance="${c}",reason="success_rate"}`)).to.equal(1);
      expect(samplesOf(await registry.metrics(), 'mesh_lb_ejections_total')).to.have.length(1);
      expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${c}"}`)).to.equal(1);
      expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${a}"}`)).to.equal(0);
      expect(await value(`mesh_lb_instance_ejected{${SERVICE},instance="${b}"}`)).to.equal(0);
      expect(await value(`mesh_healthy_instances{${SERVICE}}`)).to.equal(2);
      expect(balancer.instances().map((x) => x.ejected)).to.deep.equal([false, false, true]);
      const before = servers[2]!.served();
      for (let i = 0; i < 20; i++) await fetch('http://users/x', { dispatcher });
      expect(servers[2]!.served()).to.equal(before);
      expect(await value(`mesh_calls_total{${SERVICE},operation="get",status="failure",error_type="http_5xx"}`)).to.equal(30);
    });

    it("does not eject with Envoy's default stdevFactor (1.9 is out of reach for three hosts), nor beyond maxEjectedPercent", async () => {
      await run({ intervalMs: 10_000, minimumRequests: 50, minimumHosts: 3 });
      expect(samplesOf(await registry.metrics(), 'mesh_lb_ejections_total')).to.deep.equal([]);
      registry = new Registry();
      await dispatcher?.destroy();
      await run({ intervalMs: 10_000, minimumRequests: 50, minimumHosts: 3, stdevFactor: 1 }, 0);
      expect(samplesOf(await registry.metrics(), 'mesh_lb_ejections_total')).to.deep.equal([]);
    });

    it('needs minimumHosts instances with minimumRequests each', async () => {
      await run({ intervalMs: 10_000, minimumRequests: 101, minimumHosts: 3, stdevFactor: 1 });
      expect(samplesOf(await registry.metrics(), 'mesh_lb_ejections_total')).to.deep.equal([]);
    });
  });
});
