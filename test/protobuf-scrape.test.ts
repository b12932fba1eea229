import { expect } from 'chai';
import express5 from 'express';
import express4 from 'express4';
import Koa from 'koa';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { Counter, Gauge, Registry } from './helpers/client.js';
import {
  acceptsProtobuf,
  koaMetricsHandler,
  metricsHandler,
  protobufPieces,
  PROTOBUF_CONTENT_TYPE,
  serveMetrics,
  ServiceMeshMetrics,
  type ScrapeOptions,
} from './helpers/internals.js';
import { listen } from './helpers/inbound-traffic.js';
import { decodeFamilies, family } from './helpers/protobuf.js';

const require = createRequire(import.meta.url);
const Koa2 = require('koa2') as typeof Koa;
type Express = typeof express5;

/** What Prometheus 2.42 sends with --enable-feature=native-histograms. */
const PROMETHEUS_PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,' +
  'application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** What it sends without the flag. */
const PROMETHEUS_TEXT_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function raw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Endpoint {
  readonly url: string;
  close(): Promise<void>;
}
type FrontEnd = (options: ScrapeOptions) => Promise<Endpoint>;

function expressFrontEnd(express: Express): FrontEnd {
  return async (options) => {
    const app = express();
    app.get('/metrics', metricsHandler(options));
    const s = await listen(app);
    return { url: `${s.url}/metrics`, close: () => s.close() };
  };
}

function koaFrontEnd(KoaApp: typeof Koa): FrontEnd {
  return async (options) => {
    const app = new KoaApp();
    app.use(koaMetricsHandler(options));
    const s = await listen(app.callback());
    return { url: `${s.url}/metrics`, close: () => s.close() };
  };
}

const serveFrontEnd: FrontEnd = async (options) => {
  const m = serveMetrics({ ...options, port: 0, host: '127.0.0.1' });
  const { url } = await m.listening;
  return { url, close: () => m.close() };
};

const frontEnds: [string, FrontEnd][] = [
  ['metricsHandler on Express 4', expressFrontEnd(express4 as unknown as Express)],
  ['metricsHandler on Express 5', expressFrontEnd(express5)],
  ['koaMetricsHandler on Koa 2', koaFrontEnd(Koa2)],
  ['koaMetricsHandler on Koa 3', koaFrontEnd(Koa)],
  ['serveMetrics', serveFrontEnd],
];

function filledRegistry(openMetrics = false): Registry {
  const registry = new Registry();
  if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  const mesh = new ServiceMeshMetrics({ registry, nativeHistograms: { schema: 0 } });
  mesh.recordCallSuccess('users', 'get_user', 1);
  mesh.recordCallSuccess('users', 'get_user', 3);
  new Counter({ name: 'app_jobs_total', help: 'Jobs.', registers: [registry] }).inc(2);
  return registry;
}

describe('acceptsProtobuf', () => {
  const cases: [string | undefined, boolean][] = [
    [PROMETHEUS_PROTOBUF_ACCEPT, true],
    [PROMETHEUS_TEXT_ACCEPT, false],
    [undefined, false],
    ['*/*', false],
    ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', true],
    ['application/vnd.google.protobuf;proto="io.prometheus.client.MetricFamily";encoding="delimited"', true],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', false],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily', false],
    ['application/vnd.google.protobuf;proto=other.Message;encoding=delimited', false],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0', false],
    ['text/plain;q=1,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5', false],
    ['text/plain;q=0.5,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5', true],
  ];
  for (const [accept, expected] of cases) {
    it(`${expected ? 'takes' : 'refuses'} Accept: ${accept ?? '(none)'}`, () => {
      expect(acceptsProtobuf(accept === undefined ? {} : { accept })).to.equal(expected);
    });
  }
});

describe('the protobuf scrape option', () => {
  it('throws a TypeError naming a bad value when the handler is made', () => {
    for (const make of [
      () => metricsHandler({ protobuf: 'yes' as never }),
      () => koaMetricsHandler({ protobuf: 1 as never }),
      () => serveMetrics({ port: 0, protobuf: null as never }),
    ]) {
      expect(make).to.throw(TypeError, /^protobuf must be true, false or "auto", got /);
    }
  });
});

for (const [name, frontEnd] of frontEnds) {
  describe(`${name}: the protobuf exposition`, () => {
    let endpoint: Endpoint | undefined;
    afterEach(async () => {
      await endpoint?.close();
      endpoint = undefined;
    });
    const start = async (options: ScrapeOptions): Promise<string> => {
      endpoint = await frontEnd(options);
      return endpoint.url;
    };

    for (const openMetrics of [false, true]) {
      it(`answers a protobuf scrape in protobuf, gzipped when accepted (${openMetrics ? 'OpenMetrics' : 'text'} registry)`, async () => {
        const registry = filledRegistry(openMetrics);
        const url = await start({ registry });
        const expected = Buffer.concat(await protobufPieces(registry));

        const plain = await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT });
        expect(plain.status).to.equal(200);
        expect(plain.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
        expect(plain.headers['content-encoding']).to.equal(undefined);
        expect(plain.headers['vary']).to.equal('Accept, Accept-Encoding');
        expect(plain.headers['content-length']).to.equal(String(expected.length));
        expect(plain.body.equals(expected)).to.equal(true);
        const h = family(decodeFamilies(plain.body), 'mesh_call_duration_seconds').metric[0]!['histogram'];
        expect([h.sampleCount, h.schema, h.positiveSpan, h.positiveDelta]).to.deep.equal([
          2,
          0,
          [
            { offset: 0, length: 1 },
            { offset: 1, length: 1 },
          ],
          [1, 0],
        ]);
        expect(family(decodeFamilies(plain.body), 'app_jobs_total').metric[0]!['counter']).to.deep.equal({ value: 2 });

        const zipped = await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT, 'Accept-Encoding': 'gzip' });
        expect(zipped.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
        expect(zipped.headers['content-encoding']).to.equal('gzip');
        expect(gunzipSync(zipped.body).equals(expected)).to.equal(true);
      });
    }

    it('answers text to a scrape that does not ask for protobuf, as before', async () => {
      const registry = filledRegistry();
      const url = await start({ registry });
      for (const accept of [undefined, PROMETHEUS_TEXT_ACCEPT, '*/*']) {
        const reply = await raw(url, accept === undefined ? {} : { Accept: accept });
        expect(reply.headers['content-type']).to.equal(registry.contentType);
        expect(reply.body.toString('utf8')).to.equal(await registry.metrics());
        expect(reply.headers['vary']).to.equal('Accept, Accept-Encoding');
      }
    });

    it('protobuf: "auto" (the default) answers text while no family has native histograms on; true and false force it', async () => {
      const classic = new Registry();
      new ServiceMeshMetrics({ registry: classic }).recordCallSuccess('users', 'get_user', 1);
      let url = await start({ registry: classic });
      const auto = await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT });
      expect(auto.headers['content-type']).to.equal(classic.contentType);
      expect(auto.body.toString('utf8')).to.equal(await classic.metrics());
      await endpoint?.close();

      url = await start({ registry: classic, protobuf: true });
      const forced = await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT });
      expect(forced.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
      expect(family(decodeFamilies(forced.body), 'mesh_call_duration_seconds').metric[0]!['histogram'].schema).to.equal(
        undefined,
      );
      await endpoint?.close();

      const native = filledRegistry();
      url = await start({ registry: native, protobuf: false });
      const refused = await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT });
      expect(refused.headers['content-type']).to.equal(native.contentType);
      expect(refused.body.toString('utf8')).to.equal(await native.metrics());
    });

    it('keeps the bearer token, answers HEAD without a body, and 500 when a collector throws', async () => {
      const registry = filledRegistry();
      let broken = false;
      new Gauge({
        name: 'app_sometimes_broken',
        help: 'Throws when told to.',
        registers: [registry],
        collect() {
          if (broken) throw new Error('boom');
          this.set(1);
        },
      });
      const url = await start({ registry, bearerToken: 's3cret' });
      expect((await raw(url, { Accept: PROMETHEUS_PROTOBUF_ACCEPT })).status).to.equal(401);
      const auth = { Accept: PROMETHEUS_PROTOBUF_ACCEPT, Authorization: 'Bearer s3cret' };
      const head = await raw(url, auth, 'HEAD');
      expect(head.status).to.equal(200);
      expect(head.headers['content-type']).to.equal(PROTOBUF_CONTENT_TYPE);
      expect(head.body.length).to.equal(0);
      broken = true;
      const failed = await raw(url, auth);
      expect(failed.status).to.equal(500);
      expect(failed.body.toString('utf8')).to.equal('mesh-metrics: collecting metrics failed\n');
      broken = false;
      expect((await raw(url, auth)).status).to.equal(200);
    });
  });
}
