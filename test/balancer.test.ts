import { expect } from 'chai';
import { Registry } from './helpers/client.js';
import {
  createBalancer,
  endAttemptAt,
  startAttemptAt,
  type Balancer,
  type BalancerAttempt,
  type BalancerOptions,
  type BalancerStrategy,
} from '../lib/balancer.js';
import { instanceOrigin } from '../lib/instance-origin.js';
import { sample, samplesOf } from './helpers/exposition.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';

/** A deterministic random source (mulberry32), so distributions are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Clock {
  t = 1000;
  readonly now = (): number => this.t;
}

describe('createBalancer', () => {
  let registry: Registry;
  let clock: Clock;
  const made: Balancer[] = [];
  const make = (o: Partial<BalancerOptions> = {}): Balancer => {
    const b = createBalancer({ service: 'users', instances: [A, B, C], registry, now: clock.now, ...o });
    made.push(b);
    return b;
  };
  const lb = (name: string, labels: string): Promise<number | undefined> => sample(registry, `mesh_${name}{${labels}}`);

  beforeEach(() => {
    registry = new Registry();
    clock = new Clock();
  });
  afterEach(() => {
    for (const b of made.splice(0)) b.dispose();
  });

  describe('options', () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['the service', { service: '' }, /service must be a non-empty string, got ""/],
      ['the strategy', { strategy: 'fastest' }, /strategy must be one of .*got "fastest"/],
      ['the instances', { instances: 'http://x' }, /instances must be an array/],
      ['an instance URL', { instances: [A, 'not a url'] }, /instances\[1\] must be an http or https URL, got "not a url"/],
      ['an instance with another scheme', { instances: ['ftp://files:21'] }, /instances\[0\].*"ftp:\/\/files:21"/],
      ['a duplicate', { instances: [A, `${A}/other`] }, /instances\[1\] repeats the instance http:\/\/10.0.0.1:8080/],
      ['outlier.consecutiveFailures', { outlier: { consecutiveFailures: 0 } }, /outlier.consecutiveFailures must be an integer from 1.*got 0/],
      ['outlier.ejectionMs', { outlier: { ejectionMs: -1 } }, /outlier.ejectionMs .*got -1/],
      ['outlier.maxEjectedPercent', { outlier: { maxEjectedPercent: 150 } }, /outlier.maxEjectedPercent .*got 150/],
      ['the clock', { now: 5 }, /now must be a function, got 5/],
      ['latencyDecayMs', { latencyDecayMs: 0 }, /latencyDecayMs must be a positive number, got 0/],
      ['the prefix', { prefix: 'bad-prefix' }, /prefix must match .*"bad-prefix"/],
      ['outlier: null', { outlier: null }, /outlier must be an object or false, got null/],
      ['outlier: true', { outlier: true }, /outlier must be an object or false, got true/],
    ];
    for (const [what, o, message] of bad) {
      it(`throws a TypeError naming ${what}`, () => {
        expect(() => make(o as Partial<BalancerOptions>)).to.throw(TypeError, message);
      });
    }

    it('defaults to round_robin and accepts outlier: false', () => {
      const b = make({ outlier: false });
      expect(b.strategy).to.equal('round_robin');
      expect(b.service).to.equal('users');
    });
  });

  describe('registration', () => {
    it('counts each registered instance and starts it healthy', async () => {
      make();
      expect(await lb('registrations_total', 'service="users"')).to.equal(3);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(1 * 3);
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(1);
      expect(await lb('lb_active_connections', `service="users",instance="${B}"`)).to.equal(0);
    });

    it('refuses an invalid URL or a duplicate at run time, counting why', async () => {
      const b = make();
      expect(b.register('http://10.0.0.4:8080')).to.equal(true);
      expect(b.register('not a url')).to.equal(false);
      expect(b.register('mailto:ops@example.com')).to.equal(false);
      expect(b.register(42 as unknown as string)).to.equal(false);
      expect(b.register('http://user:pw@10.0.0.1:8080/elsewhere?x=1')).to.equal(false);
      expect(await lb('registrations_total', 'service="users"')).to.equal(4);
      expect(await lb('registration_failures_total', 'service="users",error_type="invalid_url"')).to.equal(3);
      expect(await lb('registration_failures_total', 'service="users",error_type="duplicate"')).to.equal(1);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(4);
    });

    it('deregisters by origin, and a URL can be registered again', async () => {
      const b = make();
      expect(b.deregister(`${B}/any/path`)).to.equal(true);
      expect(b.deregister(B)).to.equal(false);
      expect(b.deregister('nonsense')).to.equal(false);
      expect(b.instances().map((i) => i.origin)).to.deep.equal([A, C]);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(2);
      expect(await lb('lb_instance_health_score', `service="users",instance="${B}"`)).to.equal(undefined);
      expect(await lb('lb_active_connections', `service="users",instance="${B}"`)).to.equal(undefined);
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(1);
      for (let i = 0; i < 10; i++) expect(b.pick()?.origin).to.not.equal(B);
      expect(b.register(B)).to.equal(true);
      expect(await lb('registrations_total', 'service="users"')).to.equal(4);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(3);
    });

    it('leaves a deregistered instance\'s gauges out even when an attempt to it ends afterwards', async () => {
      const b = make({ instances: [A] });
      const attempt = b.start();
      expect(attempt?.instance.origin).to.equal(A);
      expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(1);
      expect(b.deregister(A)).to.equal(true);
      attempt?.fail(new Error('late'));
      expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(undefined);
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(undefined);
      expect(await lb('lb_requests_total', `service="users",instance="${A}",strategy="round_robin"`)).to.equal(1);
    });

    it('returns undefined from pick() and start() with no instance', () => {
      const b = make({ instances: [] });
      expect(b.pick()).to.equal(undefined);
      expect(b.start()).to.equal(undefined);
      expect(b.instances()).to.deep.equal([]);
    });
  });

  describe('instance label', () => {
    it('is scheme://host:port only, never credentials, path or query', async () => {
      const secret = 'http://svc-user:hunter2@10.0.0.9:8443/base/path?token=s3cr3t#frag';
      const b = make({ instances: [secret, 'https://Users.Internal/api'] });
      const [first, second] = b.instances();
      expect(first?.origin).to.equal('http://10.0.0.9:8443');
      expect(first?.url).to.equal(secret);
      expect(second?.origin).to.equal('https://users.internal:443');
      b.start()?.fail(new Error('boom'));
      b.start()?.succeed();
      const text = await registry.metrics();
      for (const leak of ['svc-user', 'hunter2', 'base', 'path', 'token', 's3cr3t', 'frag', '/api']) {
        expect(text).to.not.include(leak);
      }
      expect(text).to.include('instance="http://10.0.0.9:8443"');
    });

    it('writes the default port and keeps IPv6 brackets', () => {
      expect(instanceOrigin('http://example.com')).to.equal('http://example.com:80');
      expect(instanceOrigin('https://[::1]:9000/x')).to.equal('https://[::1]:9000');
      expect(instanceOrigin('grpc://host:1')).to.equal(undefined);
      expect(instanceOrigin('/relative')).to.equal(undefined);
    });
  });

  describe('strategies over 1,000 picks', () => {
    it('round_robin is exact and in order', () => {
      const b = make({ strategy: 'round_robin' });
      const counts = new Map<string, number>();
      const first: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const o = b.pick()!.origin;
        if (i < 6) first.push(o);
        counts.set(o, (counts.get(o) ?? 0) + 1);
      }
      expect(first).to.deep.equal([A, B, C, A, B, C]);
      expect(Object.fromEntries(counts)).to.deep.equal({ [A]: 334, [B]: 333, [C]: 333 });
    });

    it('random spreads over every instance', () => {
      const b = make({ strategy: 'random', random: seeded(7) });
      const counts = new Map<string, number>();
      for (let i = 0; i < 1000; i++) {
        const o = b.pick()!.origin;
        counts.set(o, (counts.get(o) ?? 0) + 1);
      }
      expect([...counts.keys()].sort()).to.deep.equal([A, B, C]);
      for (const n of counts.values()) expect(n).to.be.within(280, 390);
    });

    /**
     * 1,000 attempts on a simulated clock: one starts every millisecond, an attempt to the fast instance takes
     * 2 ms, one to the slow instance 40 ms. Returns how many went to each.
     */
    function simulate(strategy: BalancerStrategy): { fast: number; slow: number } {
      const b = make({ strategy, instances: [A, B], random: seeded(11), outlier: false });
      const latency: Record<string, number> = { [A]: 40, [B]: 2 };
      const running: { endAt: number; end: () => void }[] = [];
      const counts = { fast: 0, slow: 0 };
      for (let i = 0; i < 1000; i++) {
        clock.t += 1;
        for (let k = running.length - 1; k >= 0; k--) {
          if (running[k]!.endAt <= clock.t) running.splice(k, 1)[0]!.end();
        }
        const attempt = b.start()!;
        const ms = latency[attempt.instance.origin]!;
        counts[ms === 2 ? 'fast' : 'slow']++;
        running.push({ endAt: clock.t + ms, end: () => attempt.succeed() });
      }
      return counts;
    }

    it('round_robin splits a fast and a slow instance evenly (the baseline)', () => {
      expect(simulate('round_robin')).to.deep.equal({ fast: 500, slow: 500 });
    });

    it('least_connections favours the fast instance', () => {
      const { fast, slow } = simulate('least_connections');
      expect(fast + slow).to.equal(1000);
      expect(fast).to.be.greaterThan(900);
    });

    it('p2c_ewma favours the fast instance', () => {
      const { fast, slow } = simulate('p2c_ewma');
      expect(fast + slow).to.equal(1000);
      expect(fast).to.be.greaterThan(900);
    });
  });

  describe('attempts', () => {
    it('count requests, in-flight connections, durations and errors per instance', async () => {
      const b = make({ strategy: 'round_robin' });
      const first = b.start()!;
      const second = b.start()!;
      expect(first.instance.origin).to.equal(A);
      expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(1);
      expect(b.instances()[0]?.inFlight).to.equal(1);
      clock.t += 250;
      first.fail(Object.assign(new Error('unavailable'), { response: { status: 503 } }));
      first.succeed(); // ignored: an attempt ends once
      second.fail(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      b.start()!.succeed();
      expect(await lb('lb_requests_total', `service="users",instance="${A}",strategy="round_robin"`)).to.equal(1);
      expect(await lb('lb_requests_total', `service="users",instance="${C}",strategy="round_robin"`)).to.equal(1);
      expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(0);
      expect(await lb('lb_errors_total', 'service="users",error_type="http_5xx"')).to.equal(1);
      expect(await lb('lb_errors_total', 'service="users",error_type="connection_reset"')).to.equal(1);
      expect(await lb('lb_request_duration_seconds_count', `service="users",instance="${A}"`)).to.equal(1);
      expect(await lb('lb_request_duration_seconds_sum', `service="users",instance="${A}"`)).to.equal(0.25);
      expect(await lb('lb_request_duration_seconds_bucket', `service="users",instance="${A}",le="0.25"`)).to.equal(1);
    });

    it('count a cancelled attempt as an error without judging the instance', async () => {
      const b = make({ instances: [A] });
      clock.t += 10;
      const attempt = b.start()!;
      clock.t += 5000;
      attempt.fail(Object.assign(new Error('aborted'), { code: 'ERR_CANCELED' }));
      expect(await lb('lb_errors_total', 'service="users",error_type="cancelled"')).to.equal(1);
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(1);
      expect(b.instances()[0]).to.include({ consecutiveFailures: 0, latencyMs: 0, failures: 1, inFlight: 0 });
    });

    it('take an integration\'s clock readings on the default clock only, and pass them by other balancers', async () => {
      const inst = `service="users",instance="${A}"`;
      // the default clock: the readings given are the attempt's start and end
      const own = createBalancer({ service: 'users', instances: [A], registry });
      made.push(own);
      endAttemptAt(startAttemptAt(own, 1000)!, true, undefined, 1750);
      endAttemptAt(startAttemptAt(own, 2000)!, false, new Error('x'), 2125);
      expect(await lb('lb_request_duration_seconds_sum', inst)).to.equal(0.875);
      expect(await lb('lb_errors_total', 'service="users",error_type="other"')).to.equal(1);
      // NaN: read the clock (an attempt between two real readings)
      const before = performance.now();
      const real = startAttemptAt(own, Number.NaN)!;
      real.succeed();
      const sum = (await lb('lb_request_duration_seconds_sum', inst))! - 0.875;
      expect(sum).to.be.at.least(0).and.at.most((performance.now() - before) / 1000 + 1e-9);

      // a clock of its own: the readings given are ignored
      registry = new Registry();
      const b = make({ instances: [A] });
      const attempt = startAttemptAt(b, 5)!;
      clock.t += 300;
      endAttemptAt(attempt, true, undefined, 99_999);
      expect(await lb('lb_request_duration_seconds_sum', inst)).to.equal(0.3);

      // a balancer of someone else's: its own start, succeed and fail
      const seen: string[] = [];
      const foreign = {
        start: () => ({
          instance: b.pick()!,
          succeed: () => seen.push('succeed'),
          fail: (e: unknown) => seen.push(`fail ${String(e)}`),
        }),
      } as unknown as Balancer;
      const x: BalancerAttempt = startAttemptAt(foreign, 1)!;
      endAttemptAt(x, true, undefined, 2);
      endAttemptAt(startAttemptAt(foreign, 3)!, false, 503, 4);
      expect(seen).to.deep.equal(['succeed', 'fail 503']);
    });

    it('keep a health score: an EWMA of outcomes starting at 1', async () => {
      const b = make({ instances: [A] });
      b.start()!.fail(new Error('x'));
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(0.8);
      b.start()!.fail(new Error('x'));
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(0.64);
      b.start()!.succeed();
      const score = b.instances()[0]!.healthScore;
      expect(score).to.be.closeTo(0.712, 1e-12);
      expect(await lb('lb_instance_health_score', `service="users",instance="${A}"`)).to.equal(score);
    });
  });

  describe('outlier detection', () => {
    const failTimes = (b: Balancer, origin: string, n: number): void => {
      for (let i = 0; i < n; i++) {
        let attempt = b.start()!;
        while (attempt.instance.origin !== origin) {
          attempt.succeed();
          attempt = b.start()!;
        }
        attempt.fail(Object.assign(new Error('unavailable'), { response: { status: 503 } }));
      }
    };

    it('ejects after consecutive failures and lets the instance back when the ejection ends', async () => {
      const b = make();
      failTimes(b, A, 4);
      expect(b.instances()[0]).to.include({ consecutiveFailures: 4, ejected: false });
      failTimes(b, A, 1);
      expect(b.instances()[0]).to.include({ ejected: true, ejectedUntil: clock.t + 30000, ejections: 1 });
      expect(await lb('healthy_instances', 'service="users"')).to.equal(2);
      for (let i = 0; i < 100; i++) expect(b.pick()!.origin).to.not.equal(A);
      clock.t += 29999;
      expect(b.pick()!.origin).to.not.equal(A);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(2);
      clock.t += 1;
      const seen = new Set([b.pick()!.origin, b.pick()!.origin, b.pick()!.origin]);
      expect(seen.has(A)).to.equal(true);
      expect(b.instances()[0]).to.include({ ejected: false, consecutiveFailures: 0, ejections: 1 });
      expect(await lb('healthy_instances', 'service="users"')).to.equal(3);
    });

    it('ejects for longer on repeat', () => {
      const b = make({ outlier: { consecutiveFailures: 2, ejectionMs: 1000 } });
      failTimes(b, A, 2);
      const first = b.instances()[0]!;
      expect(first.ejectedUntil).to.equal(clock.t + 1000);
      clock.t += 1000;
      failTimes(b, A, 2);
      expect(b.instances()[0]!.ejectedUntil).to.equal(clock.t + 2000);
      clock.t += 2000;
      failTimes(b, A, 2);
      expect(b.instances()[0]).to.include({ ejectedUntil: clock.t + 3000, ejections: 3 });
      // a long healthy spell wears the multiplier down again
      clock.t += 3000 + 10_000;
      failTimes(b, A, 2);
      expect(b.instances()[0]!.ejectedUntil).to.equal(clock.t + 1000);
    });

    it('never caps the streak below the threshold: a success in between resets it', () => {
      const b = make();
      failTimes(b, A, 4);
      const attempt = b.start()!;
      expect(attempt.instance.origin).to.equal(B);
      attempt.succeed();
      b.start()!.succeed(); // C
      b.start()!.succeed(); // A: streak over
      failTimes(b, A, 4);
      expect(b.instances()[0]).to.include({ consecutiveFailures: 4, ejected: false });
    });

    it('never ejects more than maxEjectedPercent of the instances', async () => {
      const b = make({ instances: [A, B], outlier: { consecutiveFailures: 1 } });
      failTimes(b, A, 1);
      failTimes(b, B, 3);
      expect(b.instances().map((i) => i.ejected)).to.deep.equal([true, false]);
      expect(await lb('healthy_instances', 'service="users"')).to.equal(1);
      const lone = make({ instances: [C], outlier: { consecutiveFailures: 1 }, service: 'lone' });
      failTimes(lone, C, 3);
      expect(lone.instances()[0]!.ejected).to.equal(false);
    });

    it('falls back to every instance when all are ejected', () => {
      const b = make({ instances: [A, B], outlier: { consecutiveFailures: 1, maxEjectedPercent: 100 } });
      failTimes(b, A, 1);
      failTimes(b, B, 1);
      expect(b.instances().every((i) => i.ejected)).to.equal(true);
      expect([b.pick()!.origin, b.pick()!.origin].sort()).to.deep.equal([A, B]);
    });

    it('with outlier: false, never ejects', () => {
      const b = make({ instances: [A], outlier: false });
      failTimes(b, A, 50);
      expect(b.instances()[0]).to.include({ ejected: false, consecutiveFailures: 50 });
    });
  });

  for (const strategy of ['random', 'p2c_ewma'] as const) {
    it(`never throws at run time: a broken random source (${strategy}) is counted and the first instance is used`, async () => {
      const b = make({
        strategy,
        random: () => {
          throw new Error('entropy ran out');
        },
      });
      expect(b.pick()?.origin).to.equal(A);
      const attempt = b.start();
      expect(attempt?.instance.origin).to.equal(A);
      expect(b.instances().map((x) => x.inFlight)).to.deep.equal([1, 0, 0]);
      attempt?.succeed();
      expect(b.instances().map((x) => x.inFlight)).to.deep.equal([0, 0, 0]);
      expect(await lb('metrics_errors_total', 'kind="internal"')).to.equal(2);
      expect(await lb('lb_requests_total', `service="users",instance="${A}",strategy="${strategy}"`)).to.equal(1);
      expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(0);
    });
  }

  it('a clock that throws neither fails an attempt nor leaves it in flight', async () => {
    let broken = false;
    const b = make({
      now: () => {
        if (broken) throw new Error('clock broke');
        return clock.t;
      },
    });
    broken = true;
    const attempt = b.start();
    expect(attempt?.instance.origin).to.equal(A);
    attempt?.fail(new Error('boom'));
    broken = false;
    expect(b.instances().map((x) => x.inFlight)).to.deep.equal([0, 0, 0]);
    expect(await lb('lb_active_connections', `service="users",instance="${A}"`)).to.equal(0);
    expect(await lb('lb_requests_total', `service="users",instance="${A}",strategy="round_robin"`)).to.equal(1);
    expect(await lb('metrics_errors_total', 'kind="internal"')).to.equal(2);
  });
});
