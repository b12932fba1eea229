import { expect } from 'chai';
import type { Registry } from './client.js';
import { promtoolProblems, sampleIn } from './exposition.js';
import { abortMidResponse, countsOf, inBatches, inboundKey, until, type BulkClient, type Listening } from './inbound-traffic.js';

const FAMILY = 'mesh_http_server_request_duration_seconds';

/**
 * The inbound suites' shared scenario, run against an Express or Koa app built with the same routes: 1,000+ requests
 * mixing nested-route 200s, random-path 404s, sync and async throws, a custom-status error, streamed responses and
 * clients that leave mid-response. Every label set's `_count` must equal what was sent, in-flight must return to 0,
 * and the exposition must pass promtool.
 */
export async function checkMixedTraffic(service: string, registry: Registry, server: Listening, client: BulkClient): Promise<void> {
  const IN_FLIGHT = `mesh_http_server_requests_in_flight{service="${service}"}`;
    const expected = new Map<string, number>();
    const tasks: (() => Promise<unknown>)[] = [];
    const add = (count: number, key: string, send: (i: number) => Promise<unknown>): void => {
      expected.set(key, (expected.get(key) ?? 0) + count);
      for (let i = 0; i < count; i++) tasks.push(() => send(i));
    };
    const hit = async (method: string, path: string, status: number, body?: string): Promise<void> => {
      const reply = await client.send(method, path);
      expect(reply.status, `${method} ${path}`).to.equal(status);
      if (body !== undefined) expect(reply.body).to.equal(body);
    };
    add(300, inboundKey(service, 'GET', '/api/users/:id/items/:itemId', 200), (i) =>
      hit('GET', `/api/users/${i % 7 === 0 ? 'users' : i}/items/${i % 5 === 0 ? 'items' : `it-${i}`}`, 200),
    );
    add(20, inboundKey(service, 'POST', '/api/users/:id/items', 201), (i) => hit('POST', `/api/users/${i}/items`, 201));
    add(50, inboundKey(service, 'GET', '/api/orgs/:org/repos', 200), (i) =>
      hit('GET', `/api/orgs/${i % 2 === 0 ? 'repos' : `org${i}`}/repos`, 200),
    );
    add(300, inboundKey(service, 'GET', '__unmatched__', 404), (i) =>
      hit('GET', `/scan/${Math.random().toString(36).slice(2)}/${i}${i % 3 === 0 ? '/.env' : ''}`, 404),
    );
    add(20, inboundKey(service, 'GET', '__unmatched__', 404), () => hit('GET', '/api/pass', 404));
    add(10, inboundKey(service, '_OTHER', '__unmatched__', 404), (i) => hit('PURGE', `/cache/${i}`, 404));
    add(100, inboundKey(service, 'GET', '/sync-throw', 500), () => hit('GET', '/sync-throw', 500));
    add(100, inboundKey(service, 'GET', '/async-throw', 500), () => hit('GET', '/async-throw', 500));
    add(50, inboundKey(service, 'GET', '/teapot', 418), () => hit('GET', '/teapot', 418));
    add(50, inboundKey(service, 'GET', '/stream', 200), () =>
      hit('GET', '/stream', 200, 'chunk 1\nchunk 2\nchunk 3\nend\n'),
    );
    add(20, inboundKey(service, 'GET', '/slow-stream', 499), () => abortMidResponse(server.port, '/slow-stream'));
    for (let i = 0; i < 5; i++) tasks.push(() => hit('GET', '/metrics', 200)); // excluded by default
    expect(tasks.length).to.be.greaterThan(1000);

    await inBatches(tasks, 32);
    const slow = inboundKey(service, 'GET', '/slow-stream', 499);
    const text = await until(registry, (t) => countsOf(t, FAMILY).get(slow) === 20 && sampleIn(t, IN_FLIGHT) === 0);

    expect(Object.fromEntries(countsOf(text, FAMILY))).to.deep.equal(Object.fromEntries(expected));
    expect(sampleIn(text, IN_FLIGHT)).to.equal(0);
    expect(sampleIn(text, 'mesh_metrics_errors_total{kind="internal"}')).to.equal(undefined);
    expect(promtoolProblems(text)).to.deep.equal([]);
}
