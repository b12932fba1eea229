import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import axios from 'axios';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import express5 from 'express';
import Koa3 from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { metricsHandler } from '../middleware/metrics-handler.js';
import { Registry } from './helpers/client.js';
import { instrumentAxios } from '../interceptors/axios.js';
import { meshDispatcher } from '../interceptors/undici.js';
import { meshPolicy } from '../interceptors/mesh-policy.js';
import { createBalancer } from '../lib/balancer.js';
import { histogramFamily } from '../lib/registration.js';
import { resolveMetricsOptions } from '../lib/options.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import {
  activeSpanTraceId,
  EXEMPLAR_MAX_CHARACTERS,
  exemplarCharacters,
  exemplarTraceReader,
  observeTraced,
  traceIdFromTraceparent,
} from '../lib/trace-context.js';
import { exemplarLines, openMetricsRegistry, TRACE_ID, TRACEPARENT } from './helpers/exemplars.js';
import { expressModes, koaModes } from './helpers/inbound-modes.js';
import { listen } from './helpers/inbound-traffic.js';

const require = createRequire(import.meta.url);
const express4 = require('express4') as typeof express5;
const Koa2 = require('koa2') as typeof Koa3;

const INBOUND = 'mesh_http_server_request_duration_seconds';

/** Checks the one exemplar line: on the bucket of the route, with our trace id, and its value inside that bucket. */
function expectInboundExemplar(text: string, route: string): void {
  const lines = exemplarLines(text, INBOUND);
  expect(lines, text).to.have.length(1);
  const m = new RegExp(
    `^${INBOUND}_bucket\\{service="users",method="GET",route="${route}",status_code="200",le="([^"]+)"\\} \\d+ # \\{trace_id="${TRACE_ID}"\\} (\\S+) \\S+$`,
  ).exec(lines[0] ?? '');
  expect(m, lines[0]).to.not.equal(null);
  const le = Number(m![1]);
  const value = Number(m![2]);
  const bounds = [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
  const below = bounds[bounds.indexOf(le) - 1] ?? 0;
  expect(value).to.be.at.most(le);
  expect(value).to.be.above(below);
}

/** Just enough of a context manager to make a span active for a callback (what an OpenTelemetry SDK installs). */
class StoreContextManager implements ContextManager {
  private readonly store = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.store.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.store.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.store.disable();
    return this;
  }
}

function withSpan<T>(traceId: string, flags: number, fn: () => T): T {
  const span = trace.wrapSpanContext({ traceId, spanId: 'b7ad6b7169203331', traceFlags: flags });
  return context.with(trace.setSpan(context.active(), span), fn);
}

describe('trace context for exemplars', () => {
  describe('traceIdFromTraceparent', () => {
    it('takes the trace id of a valid, sampled header', () => {
      expect(traceIdFromTraceparent(TRACEPARENT)).to.equal(TRACE_ID);
      expect(traceIdFromTraceparent(` ${TRACEPARENT} `)).to.equal(TRACE_ID);
      expect(traceIdFromTraceparent(`00-${TRACE_ID}-00f067aa0ba902b7-03`)).to.equal(TRACE_ID);
      expect(traceIdFromTraceparent(`01-${TRACE_ID}-00f067aa0ba902b7-01-later-fields`)).to.equal(TRACE_ID);
    });

    const invalid: [string, unknown][] = [
      ['not sampled', `00-${TRACE_ID}-00f067aa0ba902b7-00`],
      ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
      ['an all-zero parent id', `00-${TRACE_ID}-0000000000000000-01`],
      ['version ff', `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
      ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`],
      ['a short trace id', `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`],
      ['version 00 with extra fields', `${TRACEPARENT}-x`],
      ['a later version glued to more text', `01-${TRACE_ID}-00f067aa0ba902b7-01x`],
      ['non-hex flags', `00-${TRACE_ID}-00f067aa0ba902b7-0g`],
      ['wrong separators', `00_${TRACE_ID}_00f067aa0ba902b7_01`],
      ['an empty header', ''],
      ['several headers', [TRACEPARENT, TRACEPARENT]],
      ['no header', undefined],
    ];
    for (const [what, header] of invalid) {
      it(`gives nothing for ${what}`, () => {
        expect(traceIdFromTraceparent(header)).to.equal(undefined);
      });
    }
  });

  describe('the active OpenTelemetry span', () => {
    before(() => {
      context.setGlobalContextManager(new StoreContextManager());
    });
    after(() => {
      context.disable();
    });

    it('gives the active sampled span\'s trace id, and wins over the header', () => {
      const spanTrace = 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb';
      const read = exemplarTraceReader(openMetricsRegistry());
      expect(withSpan(spanTrace, TraceFlags.SAMPLED, () => activeSpanTraceId())).to.equal(spanTrace);
      expect(withSpan(spanTrace, TraceFlags.SAMPLED, () => read?.(TRACEPARENT))).to.equal(spanTrace);
    });

    it('ignores an unsampled or invalid span, and falls back to the header', () => {
      const read = exemplarTraceReader(openMetricsRegistry());
      expect(withSpan('aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb', TraceFlags.NONE, () => read?.(TRACEPARENT))).to.equal(TRACE_ID);
      expect(withSpan('0'.repeat(32), TraceFlags.SAMPLED, () => read?.(TRACEPARENT))).to.equal(TRACE_ID);
      expect(read?.(TRACEPARENT)).to.equal(TRACE_ID);
      expect(activeSpanTraceId()).to.equal(undefined);
    });
  });

  describe('exemplars on a histogram', () => {
    it('is chosen once: no reader at all for a Prometheus-text registry', () => {
      expect(exemplarTraceReader(new Registry())).to.equal(undefined);
      expect(exemplarTraceReader(openMetricsRegistry())).to.be.a('function');
    });

    it('shows # {trace_id="..."} on the bucket line the observation fell in', async () => {
      const registry = openMetricsRegistry();
      const o = resolveMetricsOptions({ registry });
      const family = histogramFamily(o, new SelfMetrics(o), {
        name: 'demo_duration_seconds',
        help: 'Demo.',
        labelNames: ['service'],
      });
      const series = family.labels('users');
      observeTraced(series, 0.03, TRACE_ID);
      observeTraced(series, 0.2, undefined);
      const text = await registry.metrics();
      const lines = text.split('\n').filter((l) => l.startsWith('mesh_demo_duration_seconds_bucket'));
      const withExemplar = lines.filter((l) => l.includes(' # {'));
      expect(withExemplar).to.have.length(1);
      expect(withExemplar[0]).to.match(
        new RegExp(`^mesh_demo_duration_seconds_bucket\\{service="users",le="0\\.05"\\} 1 # \\{trace_id="${TRACE_ID}"\\} 0\\.03 \\d+(\\.\\d+)?$`),
      );
    });

    it('keeps exemplar label sets within OpenMetrics\' 128 characters', () => {
      expect(EXEMPLAR_MAX_CHARACTERS).to.equal(128);
      expect(exemplarCharacters({ trace_id: TRACE_ID })).to.equal(40);
      expect(exemplarCharacters({ a: '€😀' })).to.equal(3);
      const registry = openMetricsRegistry();
      const o = resolveMetricsOptions({ registry });
      const series = histogramFamily(o, new SelfMetrics(o), { name: 'x_seconds', help: 'X.', labelNames: [] }).labels();
      observeTraced(series, 0.01, 'x'.repeat(121));
      expect(series.count).to.equal(1);
      expect(series.exemplars).to.equal(undefined);
      observeTraced(series, 0.01, 'x'.repeat(120));
      expect(series.exemplars?.[1]?.labelSet).to.deep.equal({ trace_id: 'x'.repeat(120) });
    });
  });
  describe('inbound requests', () => {
    for (const mode of expressModes) for (const [name, express] of [['Express 4', express4], ['Express 5', express5]] as const) {
      it(`${mode.name} on ${name}: the request's traceparent lands on its duration bucket, served as OpenMetrics`, async () => {
        const registry = openMetricsRegistry();
        const app = express();
        mode.measure(app, { registry, service: 'users' });
        app.get('/users/:id', (_req, res) => void res.send('ok'));
        app.get('/metrics', metricsHandler({ registry }));
        const served = await listen(app);
        try {
          await request(served.url).get('/users/1').set('traceparent', TRACEPARENT).expect(200);
          await request(served.url).get('/users/2').set('traceparent', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`).expect(200);
          await request(served.url).get('/users/3').expect(200);
          const res = await request(served.url).get('/metrics').set('Accept', 'application/openmetrics-text; version=1.0.0').expect(200);
          expect(res.headers['content-type']).to.match(/^application\/openmetrics-text/);
          expectInboundExemplar(res.text, '/users/:id');
        } finally {
          await served.close();
        }
      });
    }

    for (const mode of koaModes) for (const [name, Koa] of [['Koa 2', Koa2], ['Koa 3', Koa3]] as const) {
      it(`${mode.name} on ${name}: the request's traceparent lands on its duration bucket`, async () => {
        const registry = openMetricsRegistry();
        const app = new Koa();
        const router = new Router();
        router.get('/users/:id', (ctx) => {
          ctx.body = 'ok';
        });
        mode.measure(app, { registry, service: 'users' });
        app.use(router.routes());
        await request(app.callback()).get('/users/1').set('traceparent', TRACEPARENT).expect(200);
        await request(app.callback()).get('/users/2').expect(200);
        expectInboundExemplar(await registry.metrics(), '/users/:id');
      });
    }

    for (const mode of expressModes) it(`${mode.name}: takes no trace at all with a Prometheus-text registry`, async () => {
      const registry = new Registry();
      const app = express5();
      mode.measure(app, { registry, service: 'users' });
      app.get('/users/:id', (_req, res) => void res.send('ok'));
      const served = await listen(app);
      try {
        await request(served.url).get('/users/1').set('traceparent', TRACEPARENT).expect(200);
      } finally {
        await served.close();
      }
      const family = registry.getSingleMetric(INBOUND) as unknown as { series(): Iterable<{ exemplars?: unknown; count: number }> };
      const series = [...family.series()];
      expect(series.map((x) => x.count)).to.deep.equal([1]);
      expect(series[0]?.exemplars).to.equal(undefined);
    });
  });

  describe('outbound calls', () => {
    let backend: Server;
    let url = '';
    const SPAN_TRACE = 'cccccccccccccccc0000000000000001';

    before(async () => {
      context.setGlobalContextManager(new StoreContextManager());
      backend = createServer((_req, res) => res.end('ok'));
      await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
    });
    after(async () => {
      context.disable();
      await new Promise((r) => backend.close(r));
    });

    it('instrumentAxios puts the request\'s traceparent on mesh_call_duration_seconds', async () => {
      const registry = openMetricsRegistry();
      const client = instrumentAxios(axios.create({ baseURL: url }), { service: 'users', registry });
      await client.get('/users/1', { headers: { traceparent: TRACEPARENT }, mesh: { operation: 'get_user' } });
      await client.get('/users/2', { mesh: { operation: 'get_user' } });
      const lines = exemplarLines(await registry.metrics(), 'mesh_call_duration_seconds');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`^mesh_call_duration_seconds_bucket\\{service="users",operation="get_user",le="[^"]+"\\} [12] # \\{trace_id="${TRACE_ID}"\\} `),
      );
    });

    it('each balanced attempt carries the trace on mesh_lb_request_duration_seconds of its instance', async () => {
      const registry = openMetricsRegistry();
      const balancer = createBalancer({ service: 'users', instances: [url], strategy: 'round_robin', registry });
      const client = instrumentAxios(axios.create(), { service: 'users', registry, balancer });
      await client.get('/users/1', { headers: { traceparent: TRACEPARENT } });
      const lines = exemplarLines(await registry.metrics(), 'mesh_lb_request_duration_seconds');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^mesh_lb_request_duration_seconds_bucket\\{service="users",instance="${url}",le="[^"]+"\\} 1 # \\{trace_id="${TRACE_ID}"\\} `));
      expect(exemplarLines(await registry.metrics(), 'mesh_call_duration_seconds')).to.have.length(1);
    });

    it('meshDispatcher (fetch) puts the traceparent on the call and on the balanced attempt', async () => {
      const registry = openMetricsRegistry();
      const balancer = createBalancer({ service: 'users', instances: [url], strategy: 'round_robin', registry });
      const dispatcher = meshDispatcher({ service: 'users', registry, balancer, operation: 'get_user' });
      await (await fetch('http://users/users/1', { dispatcher, headers: { traceparent: TRACEPARENT } })).text();
      await (await fetch('http://users/users/2', { dispatcher })).text();
      await dispatcher.close();
      const attempts = exemplarLines(await registry.metrics(), 'mesh_lb_request_duration_seconds');
      expect(attempts).to.have.length(1);
      expect(attempts[0]).to.match(new RegExp(`^mesh_lb_request_duration_seconds_bucket\\{service="users",instance="${url}",le="[^"]+"\\} [12] # \\{trace_id="${TRACE_ID}"\\} `));
      const calls = exemplarLines(await registry.metrics(), 'mesh_call_duration_seconds');
      expect(calls).to.have.length(1);
      expect(calls[0]).to.include(`# {trace_id="${TRACE_ID}"}`);
    });

    it('a call through meshPolicy takes the active span\'s trace id', async () => {
      const registry = openMetricsRegistry();
      const policy = meshPolicy({ service: 'users', operation: 'list', registry, retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 } });
      const client = instrumentAxios(axios.create({ baseURL: url }), { service: 'users', registry, policy });
      await withSpan(SPAN_TRACE, TraceFlags.SAMPLED, () => client.get('/users'));
      const lines = exemplarLines(await registry.metrics(), 'mesh_call_duration_seconds');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include(`# {trace_id="${SPAN_TRACE}"}`);
      policy.dispose();
    });

    it('keeps exemplars out of a Prometheus-text registry entirely', async () => {
      const registry = new Registry();
      const client = instrumentAxios(axios.create({ baseURL: url }), { service: 'users', registry });
      await client.get('/users/1', { headers: { traceparent: TRACEPARENT } });
      const family = registry.getSingleMetric('mesh_call_duration_seconds') as unknown as { series(): Iterable<{ exemplars?: unknown }> };
      for (const series of family.series()) expect(series.exemplars).to.equal(undefined);
      expect(await registry.metrics()).not.to.include('trace_id');
    });
  });

  describe('inbound requests under a tracer', () => {
    before(() => context.setGlobalContextManager(new StoreContextManager()));
    after(() => context.disable());

    /**
     * Serves `listener` as OpenTelemetry's http instrumentation does: each request event runs inside a new sampled
     * server span (here with the trace id TRACE_ID, and no traceparent sent).
     */
    async function tracedServer(listener: (req: IncomingMessage, res: ServerResponse) => void) {
      const served = await listen(listener);
      const emit = served.server.emit.bind(served.server);
      served.server.emit = ((event: string, ...args: unknown[]) =>
        event === 'request' ? withSpan(TRACE_ID, TraceFlags.SAMPLED, () => emit(event, ...args)) : emit(event, ...args)) as never;
      return served;
    }

    for (const mode of expressModes) {
      it(`${mode.name}: the server span active for the request lands on its duration bucket`, async () => {
        const registry = openMetricsRegistry();
        const app = express5();
        mode.measure(app, { registry, service: 'users' });
        app.get('/users/:id', (_req, res) => void res.send('ok'));
        const served = await tracedServer(app);
        try {
          await request(served.url).get('/users/1').expect(200);
          // From the server's channel, the request starts before the tracer's span does: no exemplar (no header here).
          const text = await registry.metrics();
          if (mode.name !== 'instrumentExpress(server)') expectInboundExemplar(text, '/users/:id');
          else {
            expect(exemplarLines(text, INBOUND)).to.deep.equal([]);
            expect(text).to.include(`${INBOUND}_count{service="users",method="GET",route="/users/:id",status_code="200"} 1\n`);
          }
        } finally {
          await served.close();
        }
      });
    }

    for (const mode of koaModes) {
      it(`${mode.name}: the server span active for the request lands on its duration bucket`, async () => {
        const registry = openMetricsRegistry();
        const app = new Koa3();
        const router = new Router();
        router.get('/users/:id', (ctx) => {
          ctx.body = 'ok';
        });
        mode.measure(app, { registry, service: 'users' });
        app.use(router.routes());
        const served = await tracedServer(app.callback());
        try {
          await request(served.url).get('/users/1').expect(200);
          expectInboundExemplar(await registry.metrics(), '/users/:id');
        } finally {
          await served.close();
        }
      });
    }
  });
});
