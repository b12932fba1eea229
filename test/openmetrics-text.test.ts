import { expect } from 'chai';
import { Counter, Gauge, Histogram, Registry, Summary } from './helpers/client.js';
import { HttpServerMetrics, openMetricsToText, resolveMetricsOptions } from './helpers/internals.js';

/** The same metrics, prom-client's and the kit's, with label values holding ` # `, quotes and braces. */
function fill(registry: Registry): void {
  const registers = [registry];
  new Counter({ name: 'app_jobs_total', help: 'Jobs # done\\n', labelNames: ['k'], registers }).inc({ k: 'a " # {x}' }, 2);
  new Gauge({ name: 'app_queue', help: 'Queue depth.', registers }).set(3);
  new Histogram({ name: 'app_wait_seconds', help: 'Wait.', buckets: [1, 2], registers }).observe(1.5);
  new Summary({ name: 'app_size_bytes', help: 'Size.', registers }).observe(10);
  new Counter({ name: 'app_idle_total', help: 'Never counted.', registers });
  const m = new HttpServerMetrics(resolveMetricsOptions({ registry }));
  m.requestDuration.labels('svc', 'GET', '/x # {y}', 200).observeWithExemplar(0.2, { trace_id: 'abc' });
  m.faults.internal();
}

describe('openMetricsToText', () => {
  it('turns an OpenMetrics registry\'s exposition into what a text registry renders', async () => {
    const text = new Registry();
    fill(text);
    const om = new Registry();
    om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    fill(om);
    const openMetrics = await om.metrics();
    expect(openMetrics).to.contain('# {trace_id="abc"}');
    expect(openMetricsToText(openMetrics)).to.equal(await text.metrics());
  });

  it('keeps an empty exposition empty', async () => {
    const om = new Registry();
    om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    expect(openMetricsToText(await om.metrics())).to.equal(await new Registry().metrics());
  });
});
