import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import * as cockatiel4 from 'cockatiel';
import * as cockatiel3 from 'cockatiel3';
import { pino } from 'pino';
import { Registry } from './helpers/client.js';
import {
  instrumentPolicy,
  isInstrumentedPolicy,
  meshPolicy,
  policyListenerCount,
  type MeshPolicyOptions,
  type PolicyLogger,
} from './helpers/internals.js';
import { closedPort, startBackend, type Backend } from './helpers/backends.js';
import { havePromtool, promtoolProblems, sample, samplesOf } from './helpers/exposition.js';

type Cockatiel = typeof cockatiel4;

// Both majors' policy types are accepted as they are (compile-time check).
const v3: Parameters<typeof instrumentPolicy>[0] = cockatiel3.wrap(
  cockatiel3.retry(cockatiel3.handleAll, { maxAttempts: 1 }),
  cockatiel3.circuitBreaker(cockatiel3.handleAll, { halfOpenAfter: 1, breaker: new cockatiel3.ConsecutiveBreaker(1) }),
  cockatiel3.timeout(1, cockatiel3.TimeoutStrategy.Aggressive),
);
const v4: Parameters<typeof instrumentPolicy>[0] = cockatiel4.bulkhead(1);
void [v3, v4];

const MAJORS: ReadonlyArray<readonly [string, Cockatiel, boolean]> = [
  // cockatiel 4 is loaded by meshPolicy itself; cockatiel 3 is handed over in `options.cockatiel`.
  ['cockatiel 4', cockatiel4, false],
  ['cockatiel 3', cockatiel3 as unknown as Cockatiel, true],
];

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** A logger that records `level message` and the fields of each call. */
function recordingLogger(): PolicyLogger & { lines: string[]; fields: object[] } {
  const lines: string[] = [];
  const fields: object[] = [];
  const log = (level: string) => (f: object, message: string) => {
    lines.push(`${level} ${(f as { circuit_state?: string }).circuit_state ?? message}`);
    fields.push(f);
  };
  return { lines, fields, info: log('info'), warn: log('warn') };
}

/** The sum of listener counts of every cockatiel event emitter on a policy and its executor. */
function emitterListeners(policy: object): number {
  let total = 0;
  const owners = [policy, (policy as { executor?: object }).executor].filter((o) => o !== undefined);
  for (const owner of owners) {
    for (const value of Object.values(owner as Record<string, unknown>)) {
      const e = value as { size?: unknown; emit?: unknown } | null;
      if (e !== null && typeof e === 'object' && typeof e.emit === 'function' && typeof e.size === 'number') {
        total += e.size;
      }
    }
  }
  return total;
}

/** The call series of one service and operation. */
function calls(operation: string, status: 'success' | 'failure', errorType?: string, service = 'users'): string {
  const e = errorType === undefined ? '' : `,error_type="${errorType}"`;
  return `mesh_calls_total{service="${service}",operation="${operation}",status="${status}"${e}}`;
}

for (const [major, c, passModule] of MAJORS) {
  describe(`cockatiel policies (${major})`, () => {
    let registry: Registry;
    const mesh = (o: Omit<MeshPolicyOptions, 'registry'>) =>
      meshPolicy({ registry, ...o, ...(passModule ? { cockatiel: c } : {}) });
    const fast = { retries: 2, initialDelayMs: 1, maxDelayMs: 4 };

    beforeEach(() => {
      registry = new Registry();
    });

    describe('instrumentPolicy', () => {
      it('passes cockatiel\'s attempt number to fn and counts each retry of the call', async () => {
        const retry = c.retry(c.handleAll, { maxAttempts: 3 });
        const p = instrumentPolicy(retry, { service: 'users', operation: 'get_user', registry });
        const seen: number[] = [];
        const value = await p.execute(({ attempt, signal }) => {
          seen.push(attempt);
          expect(signal).to.be.instanceOf(AbortSignal);
          if (attempt < 2) throw new HttpError(503);
          return 'ok';
        });
        expect(value).to.equal('ok');
        expect(seen).to.deep.equal([0, 1, 2]);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(1);
        expect(await sample(registry, 'mesh_call_duration_seconds_count{service="users",operation="get_user"}')).to.equal(1);
        const attempts = 'mesh_retry_attempts_total{service="users",operation="get_user",attempt=';
        expect(await sample(registry, `${attempts}"1"}`)).to.equal(1);
        expect(await sample(registry, `${attempts}"2"}`)).to.equal(1);
        expect(await sample(registry, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
        const duration = 'mesh_retry_duration_seconds_count{service="users",operation="get_user",status="success"}';
        expect(await sample(registry, duration)).to.equal(1);
        expect(samplesOf(await registry.metrics(), 'mesh_retry_failure_total')).to.deep.equal([]);
        p.dispose();
      });

      it('records a give-up as a failed call and a retry failure, and logs it', async () => {
        const logger = recordingLogger();
        const retry = c.retry(c.handleAll, { maxAttempts: 1 });
        const p = instrumentPolicy(retry, { service: 'users', operation: 'get_user', registry, logger });
        const error = new HttpError(502);
        let thrown: unknown;
        await p.execute(() => Promise.reject(error)).catch((e: unknown) => (thrown = e));
        expect(thrown).to.equal(error);
        expect(await sample(registry, calls('get_user', 'failure', 'http_5xx'))).to.equal(1);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(undefined);
        const failure = 'mesh_retry_failure_total{service="users",operation="get_user",error_type="http_5xx"}';
        expect(await sample(registry, failure)).to.equal(1);
        const duration = 'mesh_retry_duration_seconds_count{service="users",operation="get_user",status="failure"}';
        expect(await sample(registry, duration)).to.equal(1);
        expect(logger.fields).to.deep.equal([
          { service: 'users', operation: 'get_user', attempts: 2, error_type: 'http_5xx' },
        ]);
        expect(logger.lines[0]).to.match(/^warn /);
      });

      it('counts an error that is not a failure (4xx) as a successful call and rethrows it unchanged', async () => {
        const p = instrumentPolicy(c.noop, { service: 'users', operation: 'get_user', registry });
        const error = new HttpError(404);
        const thrown = await p.execute(() => Promise.reject(error)).catch((e: unknown) => e);
        expect(thrown).to.equal(error);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(1);
        const custom = instrumentPolicy(c.noop, { service: 'users', operation: 'put', registry, isFailure: () => true });
        await custom.execute(() => Promise.reject(error)).catch(() => undefined);
        expect(await sample(registry, calls('put', 'failure', 'http_4xx'))).to.equal(1);
      });

      it('writes no retry family when the policy holds no retry, and drives the breaker gauge from creation', async () => {
        const breaker = c.circuitBreaker(c.handleAll, { halfOpenAfter: 10_000, breaker: new c.ConsecutiveBreaker(5) });
        const isolation = breaker.isolate();
        const p = instrumentPolicy(breaker, { service: 'billing', registry });
        expect(await sample(registry, 'mesh_circuit_breaker_state{service="billing"}')).to.equal(3);
        const thrown = await p.execute(() => 'never').catch((e: unknown) => e);
        expect(thrown).to.be.instanceOf(c.IsolatedCircuitError);
        isolation.dispose();
        expect(await sample(registry, 'mesh_circuit_breaker_state{service="billing"}')).to.equal(0);
        expect(await p.execute(() => 7)).to.equal(7);
        expect(await sample(registry, calls('call', 'failure', 'circuit_open', 'billing'))).to.equal(1);
        expect(await sample(registry, calls('call', 'success', undefined, 'billing'))).to.equal(1);
        expect(await registry.metrics()).not.to.include('mesh_retry_');
        // Whatever isFailure says, a call rejected by an open circuit is a failed call.
        const lenient = instrumentPolicy(breaker, { service: 'billing', operation: 'lenient', registry, isFailure: () => false });
        const held = breaker.isolate();
        await lenient.execute(() => 'never').catch(() => undefined);
        held.dispose();
        expect(await sample(registry, calls('lenient', 'failure', 'circuit_open', 'billing'))).to.equal(1);
        lenient.dispose();
        p.dispose();
      });

      it('finds the retry and the breaker inside nested wraps and keeps the attempt number through them', async () => {
        const breaker = c.circuitBreaker(c.handleAll, { halfOpenAfter: 10_000, breaker: new c.ConsecutiveBreaker(99) });
        const inner = c.wrap(breaker, c.timeout(1000, c.TimeoutStrategy.Aggressive));
        const policy = c.wrap(c.retry(c.handleAll, { maxAttempts: 2 }), inner);
        const p = instrumentPolicy(policy, { service: 'users', operation: 'get_user', registry });
        const seen: number[] = [];
        await p.execute(({ attempt }) => {
          seen.push(attempt);
          if (attempt < 2) throw new Error('flaky');
          return 1;
        });
        expect(seen).to.deep.equal([0, 1, 2]);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="2"}')).to.equal(1);
        const isolation = breaker.isolate();
        expect(await sample(registry, 'mesh_circuit_breaker_state{service="users"}')).to.equal(3);
        isolation.dispose();
        p.dispose();
        const isolated = breaker.isolate();
        expect(await sample(registry, 'mesh_circuit_breaker_state{service="users"}')).to.equal(0);
        isolated.dispose();
      });

      it('reads the attempt number of a retry it cannot see into from the context fn receives', async () => {
        // A hand-made policy (no cockatiel class) that runs fn twice, as a retry would, and gives no signal.
        const opaque = {
          async execute<T>(fn: (context: { attempt: number }) => PromiseLike<T> | T): Promise<T> {
            try {
              return await fn({ attempt: 0 });
            } catch {
              return fn({ attempt: 1 });
            }
          },
        };
        const p = instrumentPolicy(opaque, { service: 'users', operation: 'get_user', registry });
        const seen: Array<[number, boolean]> = [];
        await p.execute(({ attempt, signal }) => {
          seen.push([attempt, signal.aborted]);
          if (attempt === 0) throw new HttpError(503);
          return 1;
        });
        expect(seen).to.deep.equal([
          [0, false],
          [1, false],
        ]);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}')).to.equal(1);
        expect(await sample(registry, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
        await p.execute(() => 2);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(2);
        expect(await sample(registry, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
      });

      it('does not measure an instrumented policy twice', async () => {
        const p = mesh({ service: 'users', operation: 'get_user', retry: false });
        const again = instrumentPolicy(p, { service: 'users', operation: 'list_users' });
        expect(again).to.equal(p.forOperation('list_users'));
        expect(isInstrumentedPolicy(again)).to.equal(true);
        expect(isInstrumentedPolicy(c.noop)).to.equal(false);
        await again.execute(() => 1);
        expect(await sample(registry, calls('list_users', 'success'))).to.equal(1);
        expect(() => instrumentPolicy(p, { service: 'orders' })).to.throw(TypeError, /"users".*"orders"/);
      });

      it('re-instrumenting checks the metrics options, and refuses another registry or prefix', () => {
        const p = mesh({ service: 'users', operation: 'get_user', retry: false });
        expect(() => instrumentPolicy(p, { service: 'users', prefix: 'bad-prefix' })).to.throw(TypeError, /prefix must match .*"bad-prefix"/);
        expect(() => instrumentPolicy(p, { service: 'users', prefix: 'other_' })).to.throw(TypeError, /prefix.*"mesh_".*"other_"/);
        expect(() => instrumentPolicy(p, { service: 'users', registry: new Registry() })).to.throw(TypeError, /registry/);
        expect(() => instrumentPolicy(p, { service: 'users', registry: 5 as never })).to.throw(TypeError, /registry.*5/);
        expect(instrumentPolicy(p, { service: 'users', registry, prefix: 'mesh_' })).to.equal(p);
        expect(instrumentPolicy(p, { service: 'users' })).to.equal(p);
      });

      it('does not grow listeners over 10,000 executions, and dispose() removes its own', async () => {
        const breaker = c.circuitBreaker(c.handleAll, { halfOpenAfter: 10_000, breaker: new c.ConsecutiveBreaker(1e9) });
        const retry = c.retry(c.handleAll, { maxAttempts: 1 });
        const timeout = c.timeout(1000, c.TimeoutStrategy.Aggressive);
        const policies = [breaker, retry, timeout];
        const count = () => policies.reduce((n, x) => n + emitterListeners(x), 0);
        const before = count();
        const p = instrumentPolicy(c.wrap(retry, breaker, timeout), { service: 'users', operation: 'a', registry });
        const b = p.forOperation('b');
        const withWatch = count();
        expect(withWatch).to.equal(before + 1);
        expect(policyListenerCount(p)).to.equal(1);
        const ac = new AbortController();
        for (let i = 0; i < 10_000; i++) {
          let tries = 0;
          await (i % 2 === 0 ? p : b).execute(() => {
            if (i % 100 === 0 && tries++ === 0) throw new Error('once');
            return i;
          }, ac.signal);
        }
        expect(count()).to.equal(withWatch);
        expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
        expect(await sample(registry, calls('a', 'success'))).to.equal(5000);
        expect(await sample(registry, calls('b', 'success'))).to.equal(5000);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="a",attempt="1"}')).to.equal(100);
        b.dispose();
        p.dispose();
        expect(count()).to.equal(before);
        expect(policyListenerCount(p)).to.equal(0);
      });

      it('gives each call without a signal its own, so 50 calls in flight raise no listener-leak warning', async () => {
        const warnings: string[] = [];
        const onWarning = (w: Error) => warnings.push(w.name);
        process.on('warning', onWarning);
        try {
          const p = mesh({ service: 'users', operation: 'slow', timeoutMs: 1000, retry: fast });
          const results = await Promise.all(Array.from({ length: 50 }, (_, i) => p.execute(() => sleep(10).then(() => i))));
          expect(results.reduce((a, b) => a + b, 0)).to.equal(1225);
          await sleep(5);
          expect(warnings).to.deep.equal([]);
          expect(await sample(registry, calls('slow', 'success'))).to.equal(50);
          p.dispose();
        } finally {
          process.off('warning', onWarning);
        }
      });

      it('rejects bad arguments with a TypeError naming the value', () => {
        expect(() => instrumentPolicy({} as never, { service: 'users' })).to.throw(TypeError, /policy/);
        expect(() => instrumentPolicy(c.noop, { service: '' })).to.throw(TypeError, /service.*""/);
        expect(() => instrumentPolicy(c.noop, { service: 'u', operation: 3 as never })).to.throw(TypeError, /operation.*3/);
        expect(() => instrumentPolicy(c.noop, { service: 'u', isFailure: 'no' as never })).to.throw(TypeError, /isFailure.*"no"/);
        expect(() => instrumentPolicy(c.noop, { service: 'u', logger: {} as never })).to.throw(TypeError, /logger/);
        expect(() => instrumentPolicy(c.noop, { service: 'u', prefix: '1x' })).to.throw(TypeError, /prefix.*"1x"/);
        const p = instrumentPolicy(c.noop, { service: 'u', registry });
        expect(() => p.forOperation('')).to.throw(TypeError, /operation/);
        expect(p.forOperation('x')).to.equal(p.forOperation('x'));
      });
    });

    describe('meshPolicy', () => {
      it('retries: 2 means at most 3 attempts', async () => {
        const p = mesh({ service: 'users', operation: 'get_user', retry: fast, circuitBreaker: false });
        let tries = 0;
        const thrown = await p
          .execute(() => {
            tries++;
            throw new HttpError(503);
          })
          .catch((e: unknown) => e);
        expect(thrown).to.be.instanceOf(HttpError);
        expect(tries).to.equal(3);
        const failure = 'mesh_retry_failure_total{service="users",operation="get_user",error_type="http_5xx"}';
        expect(await sample(registry, failure)).to.equal(1);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="3"}')).to.equal(undefined);
      });

      it('neither retries nor breaks on errors that are not failures', async () => {
        const p = mesh({ service: 'users', operation: 'get_user', retry: fast, circuitBreaker: { consecutiveFailures: 2 } });
        let tries = 0;
        for (let i = 0; i < 5; i++) {
          await p
            .execute(() => {
              tries++;
              throw new HttpError(404);
            })
            .catch(() => undefined);
        }
        expect(tries).to.equal(5);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(5);
        expect(await sample(registry, 'mesh_circuit_breaker_state{service="users"}')).to.equal(0);
        expect(await sample(registry, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(5);
      });

      it('treats a returned failure (a 5xx response) as a failure: retried, then returned and counted', async () => {
        const p = mesh({ service: 'users', operation: 'get_user', retry: { ...fast, retries: 1 }, circuitBreaker: false });
        let tries = 0;
        const value = await p.execute(() => {
          tries++;
          return { status: 503 };
        });
        expect(value).to.deep.equal({ status: 503 });
        expect(tries).to.equal(2);
        expect(await sample(registry, calls('get_user', 'failure', 'http_5xx'))).to.equal(1);
      });

      it('opens the breaker after N failures, counts rejections as circuit_open, then half-opens and closes', async () => {
        const logger = recordingLogger();
        const breaker = { consecutiveFailures: 3, halfOpenAfterMs: 40 };
        const p = mesh({ service: 'pay', operation: 'charge', retry: false, circuitBreaker: breaker, logger });
        const state = () => sample(registry, 'mesh_circuit_breaker_state{service="pay"}');
        expect(await state()).to.equal(0);
        let tries = 0;
        const failing = () => {
          tries++;
          throw new HttpError(503);
        };
        for (let i = 0; i < 3; i++) await p.execute(failing).catch(() => undefined);
        expect(await state()).to.equal(1);
        const rejected = await p.forOperation('refund').execute(failing).catch((e: unknown) => e);
        await p.execute(failing).catch(() => undefined);
        expect(rejected).to.be.instanceOf(c.BrokenCircuitError);
        expect(tries).to.equal(3);
        expect(await sample(registry, calls('charge', 'failure', 'http_5xx', 'pay'))).to.equal(3);
        expect(await sample(registry, calls('charge', 'failure', 'circuit_open', 'pay'))).to.equal(1);
        expect(await sample(registry, calls('refund', 'failure', 'circuit_open', 'pay'))).to.equal(1);
        await sleep(60);
        let during: number | undefined;
        await p.execute(async () => {
          await sleep(1);
          during = await state();
          return 'ok';
        });
        expect(during).to.equal(2);
        expect(await state()).to.equal(0);
        expect(logger.lines).to.deep.equal(['warn open', 'info half_open', 'info closed']);
        expect(logger.fields[0]).to.deep.equal({ service: 'pay', circuit_state: 'open' });
        p.dispose();
      });

      it('times out each attempt, aborting its signal, and classifies the give-up as timeout', async () => {
        const p = mesh({ service: 'users', operation: 'slow', retry: { ...fast, retries: 1 }, timeoutMs: 15, circuitBreaker: false });
        const signals: AbortSignal[] = [];
        // Like fetch: rejects with the signal's abort error, which may settle before cockatiel's TaskCancelledError.
        const thrown = await p
          .execute(
            ({ signal }) =>
              new Promise((_resolve, reject) => {
                signals.push(signal);
                signal.addEventListener('abort', () => reject(signal.reason));
              }),
          )
          .catch((e: unknown) => e);
        expect(thrown).to.be.instanceOf(Error);
        expect(signals.map((s) => s.aborted)).to.deep.equal([true, true]);
        expect(await sample(registry, calls('slow', 'failure', 'timeout'))).to.equal(1);
        const failure = 'mesh_retry_failure_total{service="users",operation="slow",error_type="timeout"}';
        expect(await sample(registry, failure)).to.equal(1);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="slow",attempt="1"}')).to.equal(1);
      });

      it('attributes every retry of 100 concurrent calls to its own call and operation', async () => {
        const p = mesh({ service: 'users', retry: fast, circuitBreaker: { consecutiveFailures: 1000 } });
        const ops = ['get_user', 'list_users', 'update_user', 'steady'];
        const expected = new Map(ops.map((o) => [o, { calls: 0, first: 0, second: 0 }]));
        const wrong: string[] = [];
        await Promise.all(
          Array.from({ length: 100 }, (_, i) => {
            const op = ops[i % 4] as string;
            const failures = op === 'steady' ? 0 : Math.floor(i / 4) % 3;
            const e = expected.get(op) as { calls: number; first: number; second: number };
            e.calls++;
            if (failures >= 1) e.first++;
            if (failures >= 2) e.second++;
            let tries = 0;
            return p.forOperation(op).execute(async ({ attempt }) => {
              if (attempt !== tries) wrong.push(`call ${i}: attempt ${attempt} on try ${tries}`);
              tries++;
              await sleep(i % 3);
              if (tries <= failures) throw new HttpError(503);
              return i;
            });
          }),
        );
        expect(wrong).to.deep.equal([]);
        const text = await registry.metrics();
        for (const [op, e] of expected) {
          const a = `mesh_retry_attempts_total{service="users",operation="${op}",attempt=`;
          expect(await sample(registry, calls(op, 'success')), op).to.equal(e.calls);
          expect(await sample(registry, `mesh_retry_success_total{service="users",operation="${op}"}`), op).to.equal(e.calls);
          expect(await sample(registry, `${a}"1"}`), op).to.equal(e.first === 0 ? undefined : e.first);
          expect(await sample(registry, `${a}"2"}`), op).to.equal(e.second === 0 ? undefined : e.second);
        }
        expect(samplesOf(text, 'mesh_retry_attempts_total')).to.have.length(6);
        if (havePromtool()) expect(promtoolProblems(text)).to.deep.equal([]);
      });

      it('shares one breaker between forOperation siblings and passes MetricsOptions through', async () => {
        const p = meshPolicy({
          service: 'users',
          registry,
          prefix: 'edge_',
          retry: false,
          circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs: 10_000 },
          ...(passModule ? { cockatiel: c } : {}),
        });
        await p.forOperation('a').execute(() => Promise.reject(new HttpError(500))).catch(() => undefined);
        const e = await p.forOperation('b').execute(() => 1).catch((x: unknown) => x);
        expect(e).to.be.instanceOf(c.BrokenCircuitError);
        expect(await sample(registry, 'edge_circuit_breaker_state{service="users"}')).to.equal(1);
        expect(await sample(registry, 'edge_calls_total{service="users",operation="b",status="failure",error_type="circuit_open"}')).to.equal(1);
        expect(p.operation).to.equal('call');
        expect(p.forOperation('a').service).to.equal('users');
        expect(await registry.metrics()).not.to.include('mesh_');
        p.dispose();
        p.dispose();
      });

      it('logs state changes to a pino logger', async () => {
        const lines: string[] = [];
        const stream = new Writable({
          write(chunk: Buffer, _enc, done) {
            lines.push(chunk.toString());
            done();
          },
        });
        const logger = pino({ level: 'info' }, stream);
        const p = mesh({ service: 'pay', retry: false, circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs: 10_000 }, logger });
        await p.execute(() => Promise.reject(new HttpError(503))).catch(() => undefined);
        await sleep(1);
        const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(records.map((r) => [r.level, r.service, r.circuit_state])).to.deep.equal([[40, 'pay', 'open']]);
        p.dispose();
      });

      it('a throwing isFailure does not replace the outcome: the caller gets it, the fault is counted', async () => {
        const isFailure = (): boolean => {
          throw new Error('predicate broke');
        };
        const p = mesh({ service: 'users', operation: 'get_user', retry: false, isFailure });
        expect(await p.execute(() => 'result')).to.equal('result');
        const boom = new HttpError(404);
        expect(await p.execute(() => Promise.reject(boom)).catch((e: unknown) => e)).to.equal(boom);
        // once in the breaker's predicate, once when the call is recorded; both calls count as failed
        expect(await sample(registry, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(4);
        expect(samplesOf(await registry.metrics(), 'mesh_calls_total').filter((l) => l.includes('status="failure"'))).to.have.length(2);
        // with a retry, the outcome counts as a failure and is retried; the caller still gets it
        const r = mesh({ service: 'users', operation: 'retried', retry: { ...fast, retries: 1 }, circuitBreaker: false, isFailure });
        let tries = 0;
        expect(await r.execute(() => ++tries)).to.equal(2);
      });

      it('validates options at construction with a TypeError naming the bad value', () => {
        const bad: Array<[Partial<MeshPolicyOptions>, RegExp]> = [
          [{ service: undefined }, /service.*undefined/],
          [{ retry: { retries: -1 } }, /retry\.retries.*-1/],
          [{ retry: { retries: 1.5 } }, /retry\.retries.*1\.5/],
          [{ retry: { initialDelayMs: 50, maxDelayMs: 10 } }, /retry\.maxDelayMs.*10/],
          [{ retry: 'yes' as never }, /retry.*"yes"/],
          [{ circuitBreaker: { consecutiveFailures: 0 } }, /consecutiveFailures.*0/],
          [{ circuitBreaker: { halfOpenAfterMs: Number.NaN } }, /halfOpenAfterMs.*NaN/],
          [{ timeoutMs: 0 }, /timeoutMs.*0/],
          [{ timeoutMs: Infinity }, /timeoutMs.*Infinity/],
          [{ cockatiel: { retry: 1 } }, /cockatiel/],
        ];
        for (const [o, message] of bad) {
          expect(() => meshPolicy({ service: 'users', registry, cockatiel: c, ...o } as MeshPolicyOptions), String(message)).to.throw(
            TypeError,
            message,
          );
        }
      });
    });

    describe('meshPolicy over HTTP on 127.0.0.1', () => {
      let backend: Backend | undefined;
      afterEach(async () => {
        await backend?.close();
        backend = undefined;
      });

      async function getJson(url: string, signal: AbortSignal): Promise<unknown> {
        const res = await fetch(url, { signal });
        const body = await res.text();
        if (!res.ok) throw new HttpError(res.status);
        return JSON.parse(body);
      }

      it('retries a backend that fails its first 2 requests and succeeds on the third attempt', async () => {
        backend = await startBackend({ failFirst: 2 });
        const p = mesh({ service: 'users', operation: 'get_user', retry: fast });
        const url = backend.url;
        const body = await p.execute(({ signal }) => getJson(`${url}/users/1`, signal));
        expect(body).to.deep.equal({ backend: 'backend', n: 3 });
        expect(backend.requests).to.have.length(3);
        expect(await sample(registry, calls('get_user', 'success'))).to.equal(1);
        expect(await sample(registry, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="2"}')).to.equal(1);
        expect(await sample(registry, 'mesh_retry_success_total{service="users",operation="get_user"}')).to.equal(1);
      });

      it('times out a stalled backend and classifies the call as timeout, not cancelled', async () => {
        backend = await startBackend('stall');
        const p = mesh({ service: 'users', operation: 'get_user', retry: false, timeoutMs: 30 });
        const url = backend.url;
        const thrown = await p.execute(({ signal }) => getJson(url, signal)).catch((e: unknown) => e);
        expect(thrown).to.be.instanceOf(Error);
        expect(await sample(registry, calls('get_user', 'failure', 'timeout'))).to.equal(1);
        expect(backend.requests).to.have.length(1);
      });

      it('counts a call cancelled by the caller as cancelled and does not retry it', async () => {
        backend = await startBackend('stall');
        const p = mesh({ service: 'users', operation: 'get_user', retry: fast, timeoutMs: 5000 });
        const url = backend.url;
        const ac = new AbortController();
        const call = p.execute(({ signal }) => getJson(url, signal), ac.signal).catch((e: unknown) => e);
        while (backend.requests.length === 0) await sleep(1);
        ac.abort();
        expect(await call).to.be.instanceOf(Error);
        expect(await sample(registry, calls('get_user', 'failure', 'cancelled'))).to.equal(1);
        expect(backend.requests).to.have.length(1);
      });

      it('classifies a closed port and a reset connection', async () => {
        const closed = await closedPort();
        backend = await startBackend('reset');
        const p = mesh({ service: 'users', retry: { ...fast, retries: 1 }, circuitBreaker: false });
        await p.forOperation('refused').execute(({ signal }) => getJson(closed.url, signal)).catch(() => undefined);
        const url = backend.url;
        await p.forOperation('reset').execute(({ signal }) => getJson(url, signal)).catch(() => undefined);
        expect(await sample(registry, calls('refused', 'failure', 'connection_refused'))).to.equal(1);
        expect(await sample(registry, calls('reset', 'failure', 'connection_reset'))).to.equal(1);
        expect(backend.requests).to.have.length(2);
      });
    });
  });
}
