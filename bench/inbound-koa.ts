import { inbound } from './inbound.js';
import type { BenchConfig, SuiteResult } from './report.js';

/** Koa 3 with @koa/router: bare vs a no-op layer vs koaMeshMetrics() vs instrumentKoa(app) (no layer). */
export function inboundKoa(config: BenchConfig): Promise<SuiteResult> {
  const script = './workers/koa-server.js';
  return inbound(
    {
      suite: 'Inbound Koa',
      path: '/users/42',
      variants: [
        { name: 'bare', label: 'bare Koa 3 + @koa/router', script, args: ['bare'] },
        { name: 'noop', label: 'a no-op app.use() layer', script, args: ['noop'] },
        { name: 'mesh', label: 'koaMeshMetrics()', script, args: ['mesh'], targets: { throughput: 0.97 } },
        { name: 'instrument', label: 'instrumentKoa(app)', script, args: ['instrument'], targets: { throughput: 0.97, cpu: 1.03 } },
      ],
    },
    config,
  );
}
