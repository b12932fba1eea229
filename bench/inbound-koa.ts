import type { BenchConfig, SuiteResult } from './report.js';

export function inboundKoa(_config: BenchConfig): Promise<SuiteResult> {
  return Promise.reject(new Error('koaMeshMetrics has not landed yet'));
}
