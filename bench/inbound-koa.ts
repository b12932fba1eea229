import { inbound, type InboundSpec } from './inbound.js';
import type { BenchConfig, SuiteResult } from './report.js';

const script = './workers/koa-server.js';

/** The suite's variants (the first is the baseline); the instruction-count suite runs the same ones. */
export const KOA_INBOUND: InboundSpec = {
  suite: 'Inbound Koa',
  path: '/users/42',
  variants: [
    { name: 'bare', label: 'bare Koa 3 + @koa/router', script, args: ['bare'] },
    { name: 'noop', label: 'a no-op app.use() layer', script, args: ['noop'] },
    { name: 'mesh-today', label: 'koaMeshMetrics(), first byte and body sizes off', script, args: ['mesh-today'] },
    { name: 'mesh', label: 'koaMeshMetrics(), every family on', script, args: ['mesh'], targets: { throughput: 0.97 } },
    { name: 'instrument', label: 'instrumentKoa(app)', script, args: ['instrument'], targets: { throughput: 0.97, cpu: 1.03 } },
  ],
  // every family on against the duration and in-flight families alone: no more instructions per request
  pairs: [{ candidate: 'mesh', baseline: 'mesh-today', instructions: 1 }],
};

/**
 * Koa 3 with @koa/router: bare vs a no-op layer vs koaMeshMetrics() without, then with, the first-byte and body size
 * families vs instrumentKoa(app) (no layer).
 */
export function inboundKoa(config: BenchConfig): Promise<SuiteResult> {
  return inbound(KOA_INBOUND, config);
}
