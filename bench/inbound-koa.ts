import { inbound } from './inbound.js';
import type { BenchConfig, SuiteResult } from './report.js';

/** Koa 3 with @koa/router: bare vs koaMeshMetrics(). */
export function inboundKoa(config: BenchConfig): Promise<SuiteResult> {
  const script = './workers/koa-server.js';
  return inbound(
    {
      suite: 'Inbound Koa',
      path: '/users/42',
      variants: [
        { name: 'bare', label: 'bare Koa 3 + @koa/router', script, args: ['bare'] },
        { name: 'mesh', label: 'koaMeshMetrics()', script, args: ['mesh'], targets: { throughput: 0.97 } },
      ],
    },
    config,
  );
}
