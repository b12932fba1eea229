import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { Registry } from './helpers/client.js';
import { meshMetrics } from './helpers/internals.js';
import { sample, samplesOf } from './helpers/exposition.js';

const LABELS = 'service="s",method="GET",route="/users/:id",status_code="200"';

function app(registry: Registry, maxSeries?: number): express.Express {
  const a = express();
  a.use(meshMetrics({ registry, service: 's', ...(maxSeries === undefined ? {} : { maxSeries }) }));
  a.get('/users/:id', (req, res) => void res.send(`user ${req.params.id}`));
  a.get('/teams/:id', (_req, res) => void res.send('team'));
  a.get('/orgs/:id', (_req, res) => void res.send('org'));
  return a;
}

async function get(a: express.Express, path: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await request(a).get(path).expect(200);
}

/**
 * The inbound recorder finds a request's four histogram series with one lookup (kept by route, status and method);
 * these check that what it keeps never outlives the families' own series and never hides an overflow.
 */
describe('inbound series rows', () => {
  it('records into fresh series after registry.resetMetrics(), in every per-request family', async () => {
    const registry = new Registry();
    const a = app(registry);
    await get(a, '/users/1', 3);
    expect(await sample(registry, `mesh_http_server_request_duration_seconds_count{${LABELS}}`)).to.equal(3);
    registry.resetMetrics();
    await get(a, '/users/2', 2);
    for (const family of [
      'mesh_http_server_request_duration_seconds',
      'mesh_http_server_response_first_byte_seconds',
      'mesh_http_server_request_body_size_bytes',
      'mesh_http_server_response_body_size_bytes',
    ]) {
      expect(await sample(registry, `${family}_count{${LABELS}}`), family).to.equal(2);
    }
    // "user 2" is 6 bytes: two responses
    expect(await sample(registry, `mesh_http_server_response_body_size_bytes_sum{${LABELS}}`)).to.equal(12);
  });

  it('records into a new series after that series was removed from its family', async () => {
    const registry = new Registry();
    const a = app(registry);
    await get(a, '/users/1', 2);
    const duration = registry.getSingleMetric('mesh_http_server_request_duration_seconds') as unknown as {
      remove(labels: Record<string, string | number>): boolean;
    };
    expect(duration.remove({ service: 's', method: 'GET', route: '/users/:id', status_code: 200 })).to.equal(true);
    await get(a, '/users/1', 1);
    expect(await sample(registry, `mesh_http_server_request_duration_seconds_count{${LABELS}}`)).to.equal(1);
    expect(await sample(registry, `mesh_http_server_response_body_size_bytes_count{${LABELS}}`)).to.equal(3);
  });

  it('counts every request that overflows a full family, the repeated ones too', async () => {
    const registry = new Registry();
    const a = app(registry, 3); // two series and the overflow series per family
    await get(a, '/users/1', 1);
    await get(a, '/teams/1', 1);
    await get(a, '/orgs/1', 4); // a third label set: overflows every per-request family, four times
    expect(samplesOf(await registry.metrics(), 'mesh_http_server_request_duration_seconds_count')).to.deep.equal([
      `mesh_http_server_request_duration_seconds_count{${LABELS}} 1`,
      'mesh_http_server_request_duration_seconds_count{service="s",method="GET",route="/teams/:id",status_code="200"} 1',
      'mesh_http_server_request_duration_seconds_count{service="__overflow__",method="__overflow__",route="__overflow__",status_code="__overflow__"} 4',
    ]);
    // the overflow counter has the same cap (two series and its overflow): the response size and first-byte
    // families' four overflows each are counted in its own overflow series
    expect(samplesOf(await registry.metrics(), 'mesh_metrics_overflow_total')).to.deep.equal([
      'mesh_metrics_overflow_total{metric="mesh_http_server_request_duration_seconds"} 4',
      'mesh_metrics_overflow_total{metric="mesh_http_server_request_body_size_bytes"} 4',
      'mesh_metrics_overflow_total{metric="__overflow__"} 8',
    ]);
    expect(await sample(registry, 'mesh_http_server_response_first_byte_seconds_count{service="__overflow__",method="__overflow__",route="__overflow__",status_code="__overflow__"}')).to.equal(4);
    expect(await sample(registry, 'mesh_http_server_response_body_size_bytes_count{service="__overflow__",method="__overflow__",route="__overflow__",status_code="__overflow__"}')).to.equal(4);
  });
});
