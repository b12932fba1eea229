import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { Registry } from './helpers/client.js';
import { meshPolicy } from '../interceptors/mesh-policy.js';
import { createBalancer } from '../lib/balancer.js';
import { isPushMetricsError, pushMetrics, PushMetricsError } from '../lib/push-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { sampleIn } from './helpers/exposition.js';
import { freePort, havePushgateway, PUSHGATEWAY_BIN, startPushgateway, type RunningPushgateway } from './helpers/pushgateway.js';

const required = process.env.CI === 'true' || process.env.MESH_E2E_REQUIRED === '1';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejected promise');
}

function batchRegistry(): { registry: Registry; mesh: ServiceMeshMetrics } {
  const registry = new Registry();
  const mesh = new ServiceMeshMetrics({ registry });
  return { registry, mesh };
}

describe('pushMetrics: options', () => {
  const registry = new Registry();
  const bad: [string, unknown, RegExp][] = [
    ['no url', { job: 'j', registry }, /url must be an http\(s\) URL/],
    ['a ftp url', { url: 'ftp://127.0.0.1:9091', job: 'j', registry }, /url must be an http\(s\) URL.*ftp:/],
    ['a url with a query', { url: 'http://127.0.0.1:9091/?a=1', job: 'j', registry }, /query/],
    ['an empty job', { url: 'http://127.0.0.1:9091', job: '', registry }, /job must be a non-empty string/],
    ['a job with a slash', { url: 'http://127.0.0.1:9091', job: 'a/b', registry }, /job must be .*"a\/b"/],
    ['a grouping named job', { url: 'http://127.0.0.1:9091', job: 'j', registry, groupings: { job: 'x' } }, /"job"/],
    ['a bad grouping name', { url: 'http://127.0.0.1:9091', job: 'j', registry, groupings: { 'a-b': 'x' } }, /"a-b"/],
    ['an empty grouping value', { url: 'http://127.0.0.1:9091', job: 'j', registry, groupings: { a: '' } }, /groupings\.a/],
    ['a bad registry', { url: 'http://127.0.0.1:9091', job: 'j', registry: {} }, /registry must be/],
    ['a zero timeout', { url: 'http://127.0.0.1:9091', job: 'j', registry, timeoutMs: 0 }, /timeoutMs.*0/],
    ['a bad replace', { url: 'http://127.0.0.1:9091', job: 'j', registry, replace: 'yes' }, /replace must be a boolean/],
  ];
  for (const [what, options, message] of bad) {
    it(`rejects ${what} with a TypeError`, async () => {
      const e = await rejection(pushMetrics(options as never));
      expect(e).to.be.instanceOf(TypeError);
      expect(e.message).to.match(message);
    });
  }

  it('rejects an OpenMetrics registry, which the Pushgateway cannot read', async () => {
    const om = new Registry();
    om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const e = await rejection(pushMetrics({ url: 'http://127.0.0.1:9091', job: 'j', registry: om as never }));
    expect(e).to.be.instanceOf(TypeError);
    expect(e.message).to.match(/Prometheus text format/);
  });
});

/** A batch job's registry after its balancer sent `counts[i]` attempts to each of `upstreams[i]`. */
function balancedJob(upstreams: string[], counts: number[]): Registry {
  const registry = new Registry();
  const balancer = createBalancer({ service: 'users', instances: upstreams, registry });
  const byUrl = new Map<string, number>();
  const total = counts.reduce((a, b) => a + b, 0);
  for (let i = 0; i < total; i++) {
    const attempt = balancer.start();
    if (attempt === undefined) throw new Error('no instance');
    attempt.succeed();
    byUrl.set(attempt.instance.url, (byUrl.get(attempt.instance.url) ?? 0) + 1);
  }
  balancer.dispose();
  expect(upstreams.map((u) => byUrl.get(u) ?? 0)).to.deep.equal(counts); // round robin
  return registry;
}

describe('pushMetrics: a grouping label that a pushed series carries too', () => {
  it('is refused before anything is sent, naming the label and the family', async () => {
    const registry = balancedJob(['http://10.0.0.7:8080'], [2]);
    const port = await freePort(); // nothing listens: the refusal must come before any connection
    const e = await rejection(pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'nightly', groupings: { instance: 'batch-1' }, registry }));
    expect(isPushMetricsError(e)).to.equal(true);
    expect(e.message).to.equal(
      `mesh-metrics: push to the Pushgateway at http://127.0.0.1:${port} refused before sending: the grouping label ` +
        '"instance" is also a label of mesh_lb_requests_total, and the gateway would overwrite it with the ' +
        'group\'s value; group by a label name no pushed series uses (such as "shard")',
    );
    // a series of the user's own with a `job` label collides with the job
    const own = new Registry();
    new (await import('prom-client')).Counter({ name: 'jobs_done_total', help: 'h', labelNames: ['job'], registers: [own] }).inc({ job: 'x' });
    const j = await rejection(pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'nightly', registry: own }));
    expect(j.message).to.match(/the grouping label "job" is also a label of jobs_done_total/);
  });
});

describe('pushMetrics: a gateway that is not there', () => {
  let stalled: Server | undefined;
  const sockets = new Set<Socket>();

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => (stalled ? stalled.close(r) : r(undefined)));
  });

  it('rejects with a clear PushMetricsError when the port refuses connections', async () => {
    const { registry, mesh } = batchRegistry();
    mesh.recordRegistration('users');
    const port = await freePort();
    const e = await rejection(
      pushMetrics({ url: `http://user:secret@127.0.0.1:${port}`, job: 'nightly', registry }),
    );
    expect(e).to.be.instanceOf(PushMetricsError);
    expect(isPushMetricsError(e)).to.equal(true);
    expect(e.message).to.equal(
      `mesh-metrics: push to the Pushgateway at http://127.0.0.1:${port} failed: connection refused (ECONNREFUSED)`,
    );
    expect(e.message).not.to.include('secret');
    expect((e.cause as { code?: string }).code).to.equal('ECONNREFUSED');
  });

  it('rejects once timeoutMs passes when the gateway accepts but never answers', async () => {
    stalled = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((r) => stalled!.listen(0, '127.0.0.1', r));
    const port = (stalled.address() as { port: number }).port;
    const { registry } = batchRegistry();
    const e = await rejection(pushMetrics({ url: `http://127.0.0.1:${port}`, job: 'nightly', registry, timeoutMs: 200 }));
    expect(isPushMetricsError(e)).to.equal(true);
    expect(e.message).to.match(/^mesh-metrics: push to the Pushgateway at http:\/\/127\.0\.0\.1:\d+ failed: .*timed out/);
  });
});

const pushgatewayHere = havePushgateway();

if (!pushgatewayHere && required) {
  describe('pushMetrics against a real Pushgateway', () => {
    it('needs Debian prometheus-pushgateway (apt-get install prometheus-pushgateway)', () => {
      expect.fail('prometheus-pushgateway is not installed');
    });
  });
} else {
  describe('pushMetrics against a real Pushgateway', function () {
    this.timeout(20_000);
    let gateway: RunningPushgateway;

    before(async function () {
      if (!pushgatewayHere) {
        // each test shows as pending in the summary; the README (Development) says how to get them
        console.log(`    SKIP: ${PUSHGATEWAY_BIN} is not installed (apt-get install prometheus-pushgateway, or set MESH_PUSHGATEWAY_BIN)`);
        this.skip();
      }
      gateway = await startPushgateway();
    });
    after(async () => {
      await gateway?.stop();
    });

    it('shows the pushed families on the gateway with the job and grouping labels', async () => {
      const { registry, mesh } = batchRegistry();
      for (let i = 0; i < 3; i++) mesh.recordCallSuccess('users', 'get_user', 0.02);
      mesh.recordCallFailure('users', 'get_user', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 0.3);
      mesh.updateHealthyInstances('users', 2);
      await pushMetrics({ url: gateway.url, job: 'nightly_report', groupings: { instance: 'batch-1' }, registry });

      const text = await gateway.metrics();
      const g = 'instance="batch-1",job="nightly_report"';
      expect(sampleIn(text, `mesh_calls_total{${g},operation="get_user",service="users",status="success"}`)).to.equal(3);
      expect(
        sampleIn(
          text,
          `mesh_calls_total{error_type="connection_refused",${g},operation="get_user",service="users",status="failure"}`,
        ),
      ).to.equal(1);
      expect(sampleIn(text, `mesh_call_duration_seconds_count{${g},operation="get_user",service="users"}`)).to.equal(4);
      expect(sampleIn(text, `mesh_call_duration_seconds_bucket{${g},operation="get_user",service="users",le="0.025"}`)).to.equal(3);
      expect(sampleIn(text, `mesh_healthy_instances{${g},service="users"}`)).to.equal(2);
      expect(sampleIn(text, `push_failure_time_seconds{${g}}`)).to.equal(0);
    });

    it('a job that used a balancer: grouping by instance is refused (nothing reaches the gateway); the README grouping works', async () => {
      const upstreams = ['http://10.0.0.7:8080', 'http://10.0.0.8:8080'];
      const registry = balancedJob(upstreams, [2, 1]);
      for (const instances of [upstreams, upstreams.slice(0, 1)]) {
        const job = balancedJob(instances, instances.length === 2 ? [1, 1] : [1]);
        const e = await rejection(pushMetrics({ url: gateway.url, job: 'lb_batch', groupings: { instance: 'batch-1' }, registry: job }));
        expect(e.message).to.match(/refused before sending: the grouping label "instance" is also a label of mesh_lb_/);
      }
      expect(await gateway.metrics()).not.to.include('job="lb_batch"');

      // the README's example: group by a name no series uses
      await pushMetrics({ url: gateway.url, job: 'lb_batch', groupings: { shard: 'batch-1' }, registry });
      const text = await gateway.metrics();
      const g = 'job="lb_batch",service="users",shard="batch-1"';
      expect(sampleIn(text, `mesh_lb_requests_total{instance="http://10.0.0.7:8080",${g},strategy="round_robin"}`)).to.equal(2);
      expect(sampleIn(text, `mesh_lb_requests_total{instance="http://10.0.0.8:8080",${g},strategy="round_robin"}`)).to.equal(1);
      expect(sampleIn(text, `mesh_lb_request_duration_seconds_count{instance="http://10.0.0.8:8080",${g}}`)).to.equal(1);
      expect(sampleIn(text, `mesh_healthy_instances{instance="",${g}}`)).to.equal(2);
      expect(sampleIn(text, 'push_failure_time_seconds{instance="",job="lb_batch",shard="batch-1"}')).to.equal(0);
    });

    it('pushes what a batch job recorded through meshPolicy, retries included', async () => {
      const registry = new Registry();
      const policy = meshPolicy({ service: 'billing', operation: 'charge', registry, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 1 } });
      let calls = 0;
      await policy.execute(async () => {
        if (++calls === 1) throw Object.assign(new Error('unavailable'), { status: 503 });
        return 'ok';
      });
      await policy.execute(async () => 'ok');
      policy.dispose();
      await pushMetrics({ url: gateway.url, job: 'billing_batch', registry });
      const text = await gateway.metrics();
      const g = 'instance="",job="billing_batch",operation="charge",service="billing"';
      expect(sampleIn(text, `mesh_calls_total{${g},status="success"}`)).to.equal(2);
      expect(sampleIn(text, `mesh_retry_attempts_total{attempt="1",${g}}`)).to.equal(1);
      expect(sampleIn(text, `mesh_retry_success_total{${g}}`)).to.equal(2);
      expect(sampleIn(text, 'mesh_circuit_breaker_state{instance="",job="billing_batch",service="billing"}')).to.equal(0);
    });

    it('replaces the group on the next push, and adds to it with replace: false', async () => {
      const { registry, mesh } = batchRegistry();
      mesh.recordRegistration('orders');
      await pushMetrics({ url: gateway.url, job: 'replace_job', registry });
      mesh.recordRegistration('orders');
      await pushMetrics({ url: gateway.url, job: 'replace_job', registry });
      let text = await gateway.metrics();
      expect(sampleIn(text, 'mesh_registrations_total{instance="",job="replace_job",service="orders"}')).to.equal(2);

      const other = batchRegistry();
      other.mesh.updateCircuitBreakerState('orders', 'open');
      await pushMetrics({ url: gateway.url, job: 'replace_job', registry: other.registry, replace: false });
      text = await gateway.metrics();
      expect(sampleIn(text, 'mesh_registrations_total{instance="",job="replace_job",service="orders"}')).to.equal(2);
      expect(sampleIn(text, 'mesh_circuit_breaker_state{instance="",job="replace_job",service="orders"}')).to.equal(1);
    });

    it('without the gateway binary, every test here shows as pending under a SKIP line that says how to get them', function () {
      const total = this.test?.parent?.tests.length ?? 0;
      const env: NodeJS.ProcessEnv = { ...process.env, MESH_PUSHGATEWAY_BIN: '/nonexistent/prometheus-pushgateway' };
      delete env.CI;
      delete env.MESH_E2E_REQUIRED;
      const r = spawnSync(process.execPath, ['node_modules/mocha/bin/mocha.js', 'test/pushgateway.test.ts'], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const out = `${r.stdout}${r.stderr}`;
      expect(r.status, out).to.equal(0);
      expect(out).to.include(
        'SKIP: /nonexistent/prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway, or set MESH_PUSHGATEWAY_BIN)',
      );
      expect(out).to.match(new RegExp(`^ +${total} pending$`, 'm'));
      expect(total).to.equal(6);
    });

    it('rejects with the gateway\'s own answer when it refuses the push', async () => {
      const first = batchRegistry();
      first.mesh.recordRegistration('users');
      await pushMetrics({ url: gateway.url, job: 'first', registry: first.registry });
      // The same name as another type: the gateway refuses what is inconsistent with what it holds.
      const registry = new Registry();
      registry.registerMetric({
        name: 'mesh_registrations_total',
        help: 'Service instances registered.',
        type: 'gauge',
        aggregator: 'sum',
        get: () => ({ name: 'mesh_registrations_total', help: 'Service instances registered.', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: {} }] }),
        reset() {},
      } as never);
      const e = await rejection(pushMetrics({ url: gateway.url, job: 'clash', registry }));
      expect(isPushMetricsError(e)).to.equal(true);
      expect(e.message).to.match(/^mesh-metrics: push to the Pushgateway at http:\/\/127\.0\.0\.1:\d+ failed: push failed with status 400/);
    });
  });
}
