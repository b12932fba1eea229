import { inbound, type InboundSpec } from './inbound.js';
import type { BenchConfig, SuiteResult } from './report.js';

const script = './workers/express-server.js';

/** The suite's variants (the first is the baseline); the instruction-count suite runs the same ones. */
export const EXPRESS_INBOUND: InboundSpec = {
  suite: 'Inbound Express',
  path: '/users/42',
  variants: [
    { name: 'bare', label: 'bare Express 5', script, args: ['bare'] },
    { name: 'noop', label: 'a no-op app.use() layer', script, args: ['noop'] },
    { name: 'mesh-today', label: 'meshMetrics(), first byte and body sizes off', script, args: ['mesh-today'] },
    { name: 'mesh', label: 'meshMetrics(), every family on', script, args: ['mesh'], targets: { throughput: 0.97, cpu: 1.03 } },
    { name: 'instrument', label: 'instrumentExpress(app)', script, args: ['instrument'], targets: { throughput: 0.98, cpu: 1.02 } },
    { name: 'channel', label: 'instrumentExpress(server)', script, args: ['channel'], targets: { throughput: 0.98, cpu: 1.02 } },
    { name: 'bundle', label: 'express-prom-bundle', script, args: ['bundle'] },
  ],
  // every family on against the duration and in-flight families alone: no more instructions per request
  pairs: [{ candidate: 'mesh', baseline: 'mesh-today', instructions: 1 }],
};

/**
 * Express 5: bare vs a no-op layer vs meshMetrics() with only the duration and in-flight families (as before the
 * first-byte and body size families) vs meshMetrics() with every family vs instrumentExpress(app) and
 * instrumentExpress(server) (no layer) vs express-prom-bundle (method, path and status labels).
 */
export function inboundExpress(config: BenchConfig): Promise<SuiteResult> {
  return inbound(EXPRESS_INBOUND, config);
}
