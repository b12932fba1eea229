import { expect } from 'chai';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { Registry } from './client.js';
import WebSocket from 'ws';
import type { InboundOptions } from '../../index.js';
import { sampleIn, samplesOf } from './exposition.js';
import { until, type Listening } from './inbound-traffic.js';

/**
 * The inbound suites' scenarios for the families beyond the request count: first byte, body sizes, event streams,
 * aborts, per-family buckets, custom labels, skip and OpenTelemetry naming. Each framework's suite gives a harness
 * that serves the same routes:
 * - `GET /json/:id` answers `{"id":"<id>"}` as JSON;
 * - `GET /download` streams three chunks of 1000 bytes (chunked);
 * - `GET /events` is an event stream (`text/event-stream`): one `data: tick\n\n` event, then held open;
 * - `POST /upload` reads the whole body and answers `ok`; `POST /ignore` never reads it and answers `no`;
 * - `GET /gzip` answers 5000 bytes of text through the framework's compression middleware;
 * - `GET /boom` throws (500); any other path is unmatched (404);
 * - `GET /ws/:room` is a WebSocket route: the server's `upgrade` event runs the app (as express-ws and
 *   koa-easy-ws do), the route hands the connection to `ws`, which sends `hello`.
 */
export interface WireHarness {
  start(options: InboundOptions<{ readonly headers: IncomingHttpHeaders }> & { registry: Registry }): Promise<Listening>;
}

export interface Sent {
  readonly status: number;
  /** Body bytes as they arrived (compressed, no chunk framing). */
  readonly bytes: number;
  readonly headers: IncomingHttpHeaders;
}

/** Sends one request with an optional body (`chunks` written one by one: chunked unless `length` is set). */
export function send(
  base: string,
  method: string,
  path: string,
  options: { chunks?: readonly string[]; length?: number; headers?: Record<string, string> } = {},
): Promise<Sent> {
  return new Promise<Sent>((resolve, reject) => {
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', ...options.headers };
    if (options.length !== undefined) headers['content-length'] = String(options.length);
    const req = httpRequest(base + path, { method, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const c of options.chunks ?? []) req.write(c);
    req.end();
  });
}

const IN_FLIGHT = (service: string): string => `mesh_http_server_requests_in_flight{service="${service}"}`;

function key(service: string, method: string, route: string, status: number, more = ''): string {
  return `{service="${service}",method="${method}",route="${route}",status_code="${status}"${more}}`;
}

async function settled(registry: Registry, service: string, done: (t: string) => boolean = () => true): Promise<string> {
  return until(registry, (t) => sampleIn(t, IN_FLIGHT(service)) === 0 && done(t));
}

/** JSON, chunked, gzip, HEAD, uploads (Content-Length, chunked, unread): exact counts and byte sums per family. */
export async function checkBodySizes(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's' });
  try {
    const json = [await send(server.url, 'GET', '/json/7'), await send(server.url, 'GET', '/json/8')];
    const head = await send(server.url, 'HEAD', '/json/7');
    const downloads = [await send(server.url, 'GET', '/download'), await send(server.url, 'GET', '/download')];
    const gzip = await send(server.url, 'GET', '/gzip');
    const upload = [
      await send(server.url, 'POST', '/upload', { chunks: ['a'.repeat(1000), 'b'.repeat(234)], length: 1234 }),
      await send(server.url, 'POST', '/upload', { chunks: ['c'.repeat(500), 'd'.repeat(500), 'e'.repeat(500)] }),
    ];
    const ignored = await send(server.url, 'POST', '/ignore', { chunks: ['f'.repeat(100)], length: 100 });
    expect(json.map((r) => [r.status, r.bytes])).to.deep.equal([[200, 10], [200, 10]]);
    expect([head.status, head.bytes]).to.deep.equal([200, 0]);
    expect(downloads.map((r) => [r.status, r.bytes, r.headers['transfer-encoding']])).to.deep.equal([
      [200, 3000, 'chunked'],
      [200, 3000, 'chunked'],
    ]);
    expect([gzip.status, gzip.headers['content-encoding']]).to.deep.equal([200, 'gzip']);
    expect(gzip.bytes).to.be.within(1, 999); // 5000 repeated bytes compress to a few dozen
    expect(upload.map((r) => r.status)).to.deep.equal([200, 200]);
    expect(ignored.status).to.equal(200);

    const text = await settled(registry, 's');
    const D = 'mesh_http_server_request_duration_seconds';
    const F = 'mesh_http_server_response_first_byte_seconds';
    const Q = 'mesh_http_server_request_body_size_bytes';
    const R = 'mesh_http_server_response_body_size_bytes';
    const expected: [string, number, number, number][] = [
      // series, requests, request body bytes, response body bytes (as the client received them)
      [key('s', 'GET', '/json/:id', 200), 2, 0, 20],
      [key('s', 'HEAD', '/json/:id', 200), 1, 0, 0],
      [key('s', 'GET', '/download', 200), 2, 0, 6000],
      [key('s', 'GET', '/gzip', 200), 1, 0, gzip.bytes],
      [key('s', 'POST', '/upload', 200), 2, 2734, 4],
      [key('s', 'POST', '/ignore', 200), 1, 100, 2],
    ];
    for (const [series, n, received, sent] of expected) {
      expect(sampleIn(text, `${D}_count${series}`), `${D} ${series}`).to.equal(n);
      expect(sampleIn(text, `${F}_count${series}`), `${F} ${series}`).to.equal(n);
      expect(sampleIn(text, `${Q}_count${series}`), `${Q} ${series}`).to.equal(n);
      expect(sampleIn(text, `${Q}_sum${series}`), `${Q} sum ${series}`).to.equal(received);
      expect(sampleIn(text, `${R}_count${series}`), `${R} ${series}`).to.equal(n);
      expect(sampleIn(text, `${R}_sum${series}`), `${R} sum ${series}`).to.equal(sent);
    }
    // The default byte ladder (powers of four): the two 3000-byte downloads sit in the 4 KiB bucket.
    const dl = (le: string) => `${R}_bucket{service="s",method="GET",route="/download",status_code="200",le="${le}"}`;
    expect([sampleIn(text, dl('1024')), sampleIn(text, dl('4096')), sampleIn(text, dl('+Inf'))]).to.deep.equal([0, 2, 2]);
    expect(samplesOf(text, `${D}_count`)).to.have.length(expected.length);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(undefined);
  } finally {
    await server.close();
  }
}

/** An event stream held open 5 s, then closed by the client: counted once, at its end, timed to its head. */
export async function checkEventStream(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's' });
  try {
    let firstEvent!: (bytes: number) => void;
    const gotEvent = new Promise<number>((r) => (firstEvent = r));
    const req = httpRequest(server.url + '/events', { agent: false }, (res) => {
      expect(res.headers['content-type']).to.match(/^text\/event-stream/);
      res.once('data', (c: Buffer) => firstEvent(c.length));
    });
    req.on('error', () => {});
    req.end();
    expect(await gotEvent).to.equal(12);
    const held = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const during = await registry.metrics();
    expect(sampleIn(during, IN_FLIGHT('s'))).to.equal(1);
    expect(samplesOf(during, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([]);
    req.destroy(); // the client goes away: the normal end of an event stream
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length > 0);
    expect(Date.now() - held).to.be.at.least(5000);
    const series = key('s', 'GET', '/events', 200);
    const le = (family: string, bound: string) =>
      sampleIn(text, `${family}_bucket{service="s",method="GET",route="/events",status_code="200",le="${bound}"}`);
    expect(sampleIn(text, `mesh_http_server_request_duration_seconds_count${series}`)).to.equal(1);
    // Held 5 s, yet the duration family holds the time to the head: far below the 5 s bucket.
    expect(le('mesh_http_server_request_duration_seconds', '2.5')).to.equal(1);
    expect(sampleIn(text, `mesh_http_server_response_first_byte_seconds_count${series}`)).to.equal(1);
    expect(le('mesh_http_server_response_first_byte_seconds', '2.5')).to.equal(1);
    expect(sampleIn(text, `mesh_http_server_response_body_size_bytes_sum${series}`)).to.equal(12);
    expect(sampleIn(text, `mesh_http_server_request_body_size_bytes_sum${series}`)).to.equal(0);
    expect(samplesOf(text, 'mesh_http_server_request_duration_seconds_count')).to.have.length(1);
  } finally {
    await server.close();
  }
}

/** Uploads the client abandons: 499, the bytes that arrived, nothing sent, no first byte. */
export async function checkAbortedUpload(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's' });
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000\r\n\r\n${'x'.repeat(3000)}`);
        setTimeout(() => socket.destroy(), 100);
      });
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length > 0);
    const series = key('s', 'POST', '/upload', 499);
    expect(sampleIn(text, `mesh_http_server_request_duration_seconds_count${series}`)).to.equal(1);
    expect(sampleIn(text, `mesh_http_server_request_body_size_bytes_sum${series}`)).to.equal(3000);
    expect(sampleIn(text, `mesh_http_server_response_body_size_bytes_sum${series}`)).to.equal(0);
    expect(samplesOf(text, 'mesh_http_server_response_first_byte_seconds_count')).to.deep.equal([]);
  } finally {
    await server.close();
  }
}

/** `buckets` per family: each family renders exactly its own bounds. */
export async function checkBucketsPerFamily(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's', buckets: { duration: [0.5, 30], firstByte: [0.25], size: [8, 16] } });
  try {
    await send(server.url, 'GET', '/json/7');
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length > 0);
    const bounds = (family: string) =>
      samplesOf(text, `${family}_bucket`).map((l) => /le="([^"]+)"\} (\d+)/.exec(l)?.slice(1).join(' '));
    expect(bounds('mesh_http_server_request_duration_seconds')).to.deep.equal(['0.5 1', '30 1', '+Inf 1']);
    expect(bounds('mesh_http_server_response_first_byte_seconds')).to.deep.equal(['0.25 1', '+Inf 1']);
    expect(bounds('mesh_http_server_request_body_size_bytes')).to.deep.equal(['8 1', '16 1', '+Inf 1']);
    expect(bounds('mesh_http_server_response_body_size_bytes')).to.deep.equal(['8 0', '16 1', '+Inf 1']);
  } finally {
    await server.close();
  }
}

/** Custom labels: values per request, a throwing or Promise-returning function counted as internal. */
export async function checkCustomLabels(h: WireHarness): Promise<void> {
  const registry = new Registry();
  let mode: 'ok' | 'throw' | 'promise' = 'ok';
  const values = (src: { headers: IncomingHttpHeaders }) => {
    if (mode === 'throw') throw new Error('label bug');
    if (mode === 'promise') return Promise.resolve({ tenant: 'late' }) as never;
    return { tenant: src.headers['x-tenant'], plan: 3 };
  };
  const server = await h.start({ registry, service: 's', labels: { names: ['tenant', 'plan'], values } });
  try {
    await send(server.url, 'GET', '/json/1', { headers: { 'x-tenant': 'acme' } });
    await send(server.url, 'GET', '/json/2', { headers: { 'x-tenant': 'acme' } });
    await send(server.url, 'GET', '/json/3', { headers: { 'x-tenant': 'glo\tbex"' } });
    await send(server.url, 'GET', '/json/4');
    mode = 'throw';
    expect((await send(server.url, 'GET', '/json/5')).status).to.equal(200);
    mode = 'promise';
    expect((await send(server.url, 'GET', '/json/6')).status).to.equal(200);
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length >= 3);
    expect(samplesOf(text, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([
      'mesh_http_server_request_duration_seconds_count{service="s",method="GET",route="/json/:id",status_code="200",tenant="acme",plan="3"} 2',
      'mesh_http_server_request_duration_seconds_count{service="s",method="GET",route="/json/:id",status_code="200",tenant="glo_bex\\"",plan="3"} 1',
      'mesh_http_server_request_duration_seconds_count{service="s",method="GET",route="/json/:id",status_code="200",tenant="",plan="3"} 1',
      'mesh_http_server_request_duration_seconds_count{service="s",method="GET",route="/json/:id",status_code="200",tenant="",plan=""} 2',
    ]);
    expect(samplesOf(text, 'mesh_http_server_response_body_size_bytes_count')).to.have.length(4);
    expect(sampleIn(text, IN_FLIGHT('s'))).to.equal(0);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(2);
  } finally {
    await server.close();
  }
}

/** `skip` after the response: a 404 flood left out, counted per family; a throwing skip records the request. */
export async function checkSkip(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({
    registry,
    service: 's',
    skip: ({ status, route, method }) => {
      if (route === '/boom') throw new Error('skip bug');
      return status === 404 && route === '__unmatched__' && method === 'GET';
    },
  });
  try {
    for (let i = 0; i < 5; i++) expect((await send(server.url, 'GET', `/scan/${i}`)).status).to.equal(404);
    await send(server.url, 'POST', '/scan/x');
    await send(server.url, 'GET', '/json/1');
    expect((await send(server.url, 'GET', '/boom')).status).to.equal(500);
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length >= 3);
    expect(samplesOf(text, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([
      `mesh_http_server_request_duration_seconds_count${key('s', 'POST', '__unmatched__', 404)} 1`,
      `mesh_http_server_request_duration_seconds_count${key('s', 'GET', '/json/:id', 200)} 1`,
      `mesh_http_server_request_duration_seconds_count${key('s', 'GET', '/boom', 500)} 1`,
    ]);
    expect(samplesOf(text, 'mesh_metrics_skipped_total')).to.deep.equal([
      'mesh_metrics_skipped_total{metric="mesh_http_server_request_duration_seconds"} 5',
      'mesh_metrics_skipped_total{metric="mesh_http_server_response_first_byte_seconds"} 5',
      'mesh_metrics_skipped_total{metric="mesh_http_server_request_body_size_bytes"} 5',
      'mesh_metrics_skipped_total{metric="mesh_http_server_response_body_size_bytes"} 5',
    ]);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(1);
  } finally {
    await server.close();
  }
}

/** `naming: 'otel'`: OpenTelemetry's names and attributes, checked line by line on a scrape. */
export async function checkOtelNaming(h: WireHarness): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's', naming: 'otel', buckets: { duration: [1], size: [1024] } });
  try {
    await send(server.url, 'GET', '/json/7');
    await send(server.url, 'GET', '/nowhere');
    await send(server.url, 'PURGE', '/json/7');
    await send(server.url, 'GET', '/boom');
    await send(server.url, 'POST', '/upload', { chunks: ['z'.repeat(2000)], length: 2000 });
    const active = 'http_server_active_requests';
    const text = await until(registry, (t) =>
      samplesOf(t, active).every((l) => l.endsWith(' 0')) && samplesOf(t, 'http_server_request_duration_seconds_count').length === 5,
    );
    const lines = text.split('\n').filter((l) => /^(http_server_|mesh_http_server_response_first_byte)/.test(l) && !l.includes('_bucket'));
    const series = (method: string, route: string | undefined, status: number, error?: string) =>
      `{http_request_method="${method}",${route === undefined ? '' : `http_route="${route}",`}http_response_status_code="${status}",url_scheme="http"${error === undefined ? '' : `,error_type="${error}"`}}`;
    const json = series('GET', '/json/:id', 200);
    const missing = series('GET', undefined, 404);
    const other = series('_OTHER', undefined, 404);
    const boom = series('GET', '/boom', 500, '500');
    const upload = series('POST', '/upload', 200);
    const all = [json, missing, other, boom, upload];
    const sizes = (name: string, sums: number[]) =>
      all.flatMap((s, i) => [`${name}_sum${s} ${sums[i]}`, `${name}_count${s} 1`]);
    const sumOf = (name: string, s: string) => sampleIn(text, `${name}_sum${s}`) as number;
    expect(lines.filter((l) => l.startsWith('http_server_request_duration_seconds'))).to.deep.equal(
      all.flatMap((s) => [`http_server_request_duration_seconds_sum${s} ${sumOf('http_server_request_duration_seconds', s)}`, `http_server_request_duration_seconds_count${s} 1`]),
    );
    const sent = all.map((s) => sumOf('http_server_response_body_size_bytes', s));
    expect(sent[0]).to.equal(10);
    expect(lines.filter((l) => l.startsWith('http_server_request_body_size_bytes'))).to.deep.equal(
      sizes('http_server_request_body_size_bytes', [0, 0, 0, 0, 2000]),
    );
    expect(lines.filter((l) => l.startsWith('http_server_response_body_size_bytes'))).to.deep.equal(
      sizes('http_server_response_body_size_bytes', sent),
    );
    expect(lines.filter((l) => l.startsWith('mesh_http_server_response_first_byte_seconds_count'))).to.deep.equal(
      all.map((s) => `mesh_http_server_response_first_byte_seconds_count${s} 1`),
    );
    expect(samplesOf(text, active).sort()).to.deep.equal([
      'http_server_active_requests{http_request_method="GET",url_scheme="http"} 0',
      'http_server_active_requests{http_request_method="POST",url_scheme="http"} 0',
      'http_server_active_requests{http_request_method="_OTHER",url_scheme="http"} 0',
    ]);
    expect(text).to.include('# TYPE http_server_request_duration_seconds histogram');
    expect(text).to.include('# TYPE http_server_active_requests gauge');
    expect(text).not.to.include('mesh_http_server_request_duration_seconds');
    expect(text).not.to.include('mesh_http_server_requests_in_flight');
    expect(sampleIn(text, `http_server_request_duration_seconds_bucket${json.slice(0, -1)},le="+Inf"}`)).to.equal(1);
  } finally {
    await server.close();
  }
}

/**
 * A WebSocket upgrade: counted once when the connection closes, status 101, timed to the handshake, no bodies.
 * `seen: false` for a mode that never sees upgrades (`instrumentExpress(server)`: Node publishes its channel only for
 * requests that reach the server's `request` listeners): then nothing at all is recorded for it.
 */
export async function checkWebSocket(h: WireHarness, seen = true): Promise<void> {
  const registry = new Registry();
  const server = await h.start({ registry, service: 's' });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/7`);
    const message = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    expect(message).to.equal('hello');
    if (!seen) {
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await closed;
      await new Promise((r) => setTimeout(r, 50));
      const text = await registry.metrics();
      expect(samplesOf(text, 'mesh_http_server_requests_in_flight')).to.deep.equal([]);
      expect(samplesOf(text, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([]);
      return;
    }
    const during = await registry.metrics();
    expect(sampleIn(during, IN_FLIGHT('s'))).to.equal(1);
    expect(samplesOf(during, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([]);
    ws.close();
    const text = await settled(registry, 's', (t) => samplesOf(t, 'mesh_http_server_request_duration_seconds_count').length > 0);
    const series = key('s', 'GET', '/ws/:room', 101);
    expect(samplesOf(text, 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([
      `mesh_http_server_request_duration_seconds_count${series} 1`,
    ]);
    expect(sampleIn(text, `mesh_http_server_response_first_byte_seconds_count${series}`)).to.equal(1);
    expect(sampleIn(text, `mesh_http_server_request_body_size_bytes_sum${series}`)).to.equal(0);
    expect(sampleIn(text, `mesh_http_server_response_body_size_bytes_sum${series}`)).to.equal(0);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(undefined);
  } finally {
    await server.close();
  }
}
