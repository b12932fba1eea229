import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Registry } from './helpers/client.js';
import { meshMetrics } from './helpers/internals.js';
import { sample } from './helpers/exposition.js';

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
