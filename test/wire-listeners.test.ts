import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Registry } from './helpers/client.js';
import { meshMetrics } from './helpers/internals.js';
import { sample } from './helpers/exposition.js';
import { isEventStreamType } from '../middleware/request-labels.js';

const LABELS = 'service="s",method="GET",route="/events",status_code="200"';

/**
 * The wire wrappers notify every recorder's `close` listener of a response. A recorder with the first-byte and body
 * size families off must not start timing heads because another recorder in the process installed the wrappers:
 * it records exactly what it records alone.
 */
describe('wire notifications with recorders of both kinds on one response', () => {
  it('a recorder with the wire families off times an event stream to its last byte, one with them on to its head', async () => {
    const off = new Registry();
    const on = new Registry();
    const app = express();
    app.use(meshMetrics({ registry: off, service: 's', families: { firstByte: false, bodySizes: false } }));
    app.use(meshMetrics({ registry: on, service: 's' }));
    app.get('/events', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 300);
    });
    await request(app).get('/events').expect(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await sample(off, `mesh_http_server_request_duration_seconds_count{${LABELS}}`)).to.equal(1);
    expect(await sample(on, `mesh_http_server_request_duration_seconds_count{${LABELS}}`)).to.equal(1);
    // to the last byte, 300 ms after the head
    expect(await sample(off, `mesh_http_server_request_duration_seconds_sum{${LABELS}}`)).to.be.at.least(0.29);
    // to the head, written at once
    expect(await sample(on, `mesh_http_server_request_duration_seconds_sum{${LABELS}}`)).to.be.below(0.2);
    expect(await sample(on, `mesh_http_server_response_first_byte_seconds_count{${LABELS}}`)).to.equal(1);
    expect(await sample(off, `mesh_http_server_response_first_byte_seconds_count{${LABELS}}`)).to.equal(undefined);
  });
});

describe('response body bytes given whole to end()', () => {
  const series = (route: string) => `service="s",method="GET",route="${route}",status_code="200"`;

  it('counts the bytes Node sends, whatever the encoding, with or without a head written before', async () => {
    const registry = new Registry();
    const app = express();
    app.use(meshMetrics({ registry, service: 's' }));
    app.get('/utf8', (_req, res) => res.end('h\u00e9llo w\u00f6rld')); // 11 characters, 13 bytes in UTF-8
    app.get('/hex', (_req, res) => res.end('deadbeef', 'hex')); // 4 bytes
    app.get('/latin1', (_req, res) => res.end('\u00e9\u00e9', 'latin1')); // 2 bytes
    app.get('/empty', (_req, res) => res.end(''));
    app.get('/after-head', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('\u00e9t\u00e9'); // 5 bytes, measured by the kit: the head went out before
    });
    app.get('/declared', (_req, res) => {
      res.setHeader('content-length', '3');
      res.end(Buffer.from('abc'));
    });
    const sizes: Record<string, number> = { '/utf8': 13, '/hex': 4, '/latin1': 2, '/empty': 0, '/after-head': 5, '/declared': 3 };
    for (const route of Object.keys(sizes)) {
      const res = await request(app).get(route).buffer(true).parse((r, done) => {
        let n = 0;
        r.on('data', (c: Buffer) => (n += c.length));
        r.on('end', () => done(null, n));
      });
      expect(res.body, route).to.equal(sizes[route]);
    }
    await new Promise((resolve) => setImmediate(resolve));
    for (const [route, bytes] of Object.entries(sizes)) {
      expect(await sample(registry, `mesh_http_server_response_body_size_bytes_sum{${series(route)}}`), route).to.equal(bytes);
      expect(await sample(registry, `mesh_http_server_response_body_size_bytes_count{${series(route)}}`), route).to.equal(1);
    }
  });
});

describe('isEventStreamType', () => {
  it('is true for text/event-stream at the start, in any case, after tabs and spaces', () => {
    for (const type of ['text/event-stream', 'TEXT/Event-Stream; charset=utf-8', ' \ttext/event-stream', '\u00a0text/event-stream', 'text/event-streamx']) {
      expect(isEventStreamType(type), JSON.stringify(type)).to.equal(true);
    }
  });

  it('is false for any other type, a shorter one, a value that is not a string', () => {
    for (const type of ['text/html; charset=utf-8', 'text/plain', 'application/json', 'text/event-strea', 'text/Event_stream', 'x text/event-stream', 'text/evenT-stream'.replace('T', '\u0130'), '', undefined, 7, ['text/event-stream']]) {
      expect(isEventStreamType(type), JSON.stringify(type)).to.equal(false);
    }
  });
});
