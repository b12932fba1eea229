import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from './helpers/client.js';
import request from 'supertest';
import { axiosClientSample, startUsersInstance } from '../samples/axios-client.js';
import { startDemo } from '../samples/demo/demo.js';
import { fetchClientSample } from '../samples/fetch-client.js';
import { DEFAULT_DEMO_OPTIONS, parseDemoArgs } from '../samples/demo/options.js';
import { createApp as createExpressApp } from '../samples/express.js';
import { createApp as createKoaApp } from '../samples/koa.js';
import { policySample } from '../samples/policy.js';
import { sampleIn, samplesOf } from './helpers/exposition.js';

const COUNT = 'mesh_http_server_request_duration_seconds_count';

function run(
  args: string[],
  timeoutMs: number,
  onOutput?: (child: ChildProcess, stdout: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOutput?.(child, stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('samples', () => {
  it('express.ts measures its nested route and serves /metrics', async () => {
    const registry = new Registry();
    const app = createExpressApp(registry);
    await request(app).get('/api/orders/42').expect(200, { id: '42', status: 'shipped' });
    await request(app).get('/api/orders/43').expect(200);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(sampleIn(text, `${COUNT}{service="checkout",method="GET",route="/api/orders/:orderId",status_code="200"}`)).to.equal(2);
  });

  it('koa.ts measures its prefixed route and serves /metrics', async () => {
    const registry = new Registry();
    const server = createKoaApp(registry).callback();
    await request(server).get('/api/items/abc').expect(200, { sku: 'abc', inStock: 3 });
    const text = (await request(server).get('/metrics').expect(200)).text;
    expect(sampleIn(text, `${COUNT}{service="inventory",method="GET",route="/api/items/:sku",status_code="200"}`)).to.equal(1);
  });

  it('axios-client.ts balances ten calls over two real instances', async () => {
    const a = await startUsersInstance();
    const b = await startUsersInstance();
    try {
      const text = await axiosClientSample([a.url, b.url], 10, new Registry());
      expect(sampleIn(text, 'mesh_calls_total{service="users",operation="get_user",status="success"}')).to.equal(10);
      const perInstance = samplesOf(text, 'mesh_lb_requests_total').map((l) => Number(l.split(' ').pop()));
      expect(perInstance.reduce((x, y) => x + y, 0)).to.equal(10);
      expect(sampleIn(text, 'mesh_healthy_instances{service="users"}')).to.equal(2);
    } finally {
      a.server.close();
      b.server.close();
    }
  });

  it('fetch-client.ts balances ten fetch calls over two real instances', async () => {
    const a = await startUsersInstance();
    const b = await startUsersInstance();
    try {
      const text = await fetchClientSample([a.url, b.url], 10, new Registry());
      expect(sampleIn(text, 'mesh_calls_total{service="users",operation="get_user",status="success"}')).to.equal(10);
      const perInstance = samplesOf(text, 'mesh_lb_requests_total').map((l) => Number(l.split(' ').pop()));
      expect(perInstance.reduce((x, y) => x + y, 0)).to.equal(10);
      expect(sampleIn(text, 'mesh_retry_budget_remaining{service="users"}')).to.equal(102);
    } finally {
      a.server.close();
      b.server.close();
    }
  });

  it('policy.ts retries the three failed attempts and every call succeeds', async () => {
    const text = await policySample(new Registry());
    expect(sampleIn(text, 'mesh_calls_total{service="inventory",operation="reserve",status="success"}')).to.equal(5);
    expect(sampleIn(text, 'mesh_retry_attempts_total{service="inventory",operation="reserve",attempt="1"}')).to.equal(3);
    expect(sampleIn(text, 'mesh_retry_success_total{service="inventory",operation="reserve"}')).to.equal(5);
    expect(sampleIn(text, 'mesh_circuit_breaker_state{service="inventory"}')).to.equal(0);
  });

  describe('demo', () => {
    it('parses its flags and names a bad value', () => {
      const o = parseDemoArgs(['--duration', '20', '--gateway-port', '0', '--users-ports', '1,2,3', '--outage', '5,10,20']);
      expect(o).to.deep.include({ durationSeconds: 20, gatewayPort: 0, usersPorts: [1, 2, 3] });
      expect(o).to.deep.include({ outage: { startSeconds: 5, lengthSeconds: 10, periodSeconds: 20 } });
      expect(() => parseDemoArgs(['--users-ports', '1,2'])).to.throw(TypeError, /three ports/);
      expect(() => parseDemoArgs(['--gateway-port', '70000'])).to.throw(TypeError, /"70000"/);
      expect(() => parseDemoArgs(['--outage', '50,20,60'])).to.throw(TypeError, /start\+length <= period/);
    });

    it('runs the mesh: all three instances called (axios and fetch callers), retries, an outlier ejection while one is down', async function () {
      this.timeout(20_000);
      const demo = await startDemo({
        ...DEFAULT_DEMO_OPTIONS,
        gatewayPort: 0,
        usersPorts: [0, 0, 0],
        metricsPorts: [0, 0, 0],
        rps: 60,
        outage: { startSeconds: 1, lengthSeconds: 3, periodSeconds: 60 },
      });
      try {
        let text = '';
        const seen = (): boolean =>
          demo.events.ejections > 0 &&
          (sampleIn(text, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}') ?? 0) > 0 &&
          samplesOf(text, 'mesh_lb_requests_total').length === 3 &&
          (sampleIn(text, 'mesh_calls_total{service="users",operation="list_orders",status="success"}') ?? 0) > 0;
        for (let i = 0; i < 60 && !seen(); i++) {
          await new Promise((r) => setTimeout(r, 200));
          text = await (await fetch(demo.gateway.metricsUrl)).text();
        }
        expect(demo.events.ejections, 'outlier ejections').to.be.greaterThan(0);
        expect(sampleIn(text, 'mesh_retry_attempts_total{service="users",operation="get_user",attempt="1"}')).to.be.greaterThan(0);
        expect(samplesOf(text, 'mesh_lb_requests_total')).to.have.length(3);
        // /api/orders calls users with the global fetch through meshDispatcher: the same families, live
        expect(sampleIn(text, 'mesh_calls_total{service="users",operation="list_orders",status="success"}')).to.be.greaterThan(0);
        expect(sampleIn(text, 'mesh_calls_total{service="users",operation="get_user",status="success"}')).to.be.greaterThan(0);
        for (const url of demo.metricsUrls) expect((await fetch(url)).status, url).to.equal(200);
      } finally {
        await demo.stop();
      }
    });

    it('main.ts runs for --duration and exits 0, stops cleanly on Ctrl-C (SIGINT), and a busy port is a clear error and exit 1', async function () {
      this.timeout(60_000); // two child processes; a loaded CI machine starts tsx slowly
      const free = '--gateway-port=0 --users-ports=0,0,0 --metrics-ports=0,0,0'.split(' ');
      const ok = await run(['samples/demo/main.ts', '--duration', '1.5', '--refresh', '0.5', '--outage', '0,1,60', ...free], 30_000);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.include('mesh-metrics stat');
      expect(ok.stdout).to.match(/^OUTBOUND\s+RPS/m);
      expect(ok.stdout).to.match(/demo stopped \(duration reached\) after \d+\.\d s: \d+ calls to users over 3 instances/);

      let sent = false;
      const interrupted = await run(['samples/demo/main.ts', '--refresh', '0.5', ...free], 30_000, (child, stdout) => {
        if (sent || !stdout.includes('OUTBOUND')) return;
        sent = true; // once: a second Ctrl-C after shutdown began would take the default action
        child.kill('SIGINT');
      });
      expect(interrupted.code, interrupted.stderr).to.equal(0);
      expect(interrupted.stdout).to.match(/demo stopped \(interrupted\)/);

      const busy: Server = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      try {
        const port = String((busy.address() as AddressInfo).port);
        const r = await run(['samples/demo/main.ts', '--duration', '1', '--users-ports=0,0,0', '--metrics-ports=0,0,0', '--gateway-port', port], 30_000);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include(`port ${port} on 127.0.0.1 is already in use (gateway); free it or choose another with --gateway-port`);
      } finally {
        busy.close();
      }
    });
  });
});
