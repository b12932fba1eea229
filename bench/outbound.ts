import type { BenchConfig, SuiteResult } from './report.js';

export function outbound(_config: BenchConfig): Promise<SuiteResult> {
  return Promise.reject(new Error('instrumentAxios has not landed yet'));
}
