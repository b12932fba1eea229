import { expect } from 'chai';
import * as cockatiel4 from 'cockatiel';
import * as cockatiel3 from 'cockatiel3';
import { ERROR_TYPES, classifyError } from './helpers/internals.js';

function withCode(code: string): Error {
  return Object.assign(new Error(`something ${code}`), { code });
}

describe('classifyError', () => {
  it('maps Node and undici error codes', () => {
    const cases: Record<string, string> = {
      ETIMEDOUT: 'timeout',
      ECONNABORTED: 'timeout',
      ECONNREFUSED: 'connection_refused',
      ECONNRESET: 'connection_reset',
      EPIPE: 'connection_reset',
      ENOTFOUND: 'dns',
      EAI_AGAIN: 'dns',
      ERR_CANCELED: 'cancelled',
      UND_ERR_CONNECT_TIMEOUT: 'timeout',
      EWHATEVER: 'other',
    };
    const actual = Object.fromEntries(Object.keys(cases).map((code) => [code, classifyError(withCode(code))]));
    expect(actual).to.deep.equal(cases);
  });

  it('maps AbortError, HTTP statuses and wrapped causes', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(classifyError(abort)).to.equal('cancelled');
    expect(classifyError(new DOMException('gone', 'AbortError'))).to.equal('cancelled');
    expect(classifyError(Object.assign(new Error('x'), { response: { status: 503 } }))).to.equal('http_5xx');
    expect(classifyError(Object.assign(new Error('x'), { response: { status: 404 } }))).to.equal('http_4xx');
    expect(classifyError({ statusCode: 502 })).to.equal('http_5xx');
    expect(classifyError({ status: 429 })).to.equal('http_4xx');
    expect(classifyError(500)).to.equal('http_5xx');
    expect(classifyError(404)).to.equal('http_4xx');
    expect(classifyError(200)).to.equal('other');
    expect(classifyError(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }))).to.equal('connection_refused');
  });

  for (const [name, c] of [
    ['cockatiel 4', cockatiel4],
    ['cockatiel 3', cockatiel3],
  ] as const) {
    it(`maps ${name}'s errors`, async () => {
      expect(classifyError(new c.BrokenCircuitError())).to.equal('circuit_open');
      expect(classifyError(new c.IsolatedCircuitError())).to.equal('circuit_open');
      expect(classifyError(new c.BulkheadRejectedError(1, 0))).to.equal('bulkhead_rejected');
      expect(classifyError(new c.TaskCancelledError())).to.equal('timeout');
      const timeout = c.timeout(1, c.TimeoutStrategy.Aggressive);
      const err = await timeout.execute(() => new Promise((r) => setTimeout(r, 50))).catch((e: unknown) => e);
      expect((err as { isTaskCancelledError?: boolean }).isTaskCancelledError).to.equal(true);
      expect(classifyError(err)).to.equal('timeout');
    });
  }

  it('keeps vocabulary words and normalises other strings', () => {
    for (const word of ERROR_TYPES) expect(classifyError(word)).to.equal(word);
    expect(classifyError('invalid_url')).to.equal('invalid_url');
    expect(classifyError('Upstream Overloaded!')).to.equal('upstream_overloaded');
    expect(classifyError('a'.repeat(100))).to.equal('a'.repeat(64));
    expect(classifyError('  ')).to.equal('other');
    expect(classifyError('line\nbreak "quoted"')).to.equal('line_break_quoted');
  });

  it('never uses an error message and never throws', () => {
    expect(classifyError(new Error('user 42 not found at /secret?token=abc'))).to.equal('other');
    const evil = new Proxy({}, { get() { throw new Error('trap'); }, has() { throw new Error('trap'); } });
    expect(classifyError(evil)).to.equal('other');
    expect(classifyError(undefined)).to.equal('other');
    expect(classifyError(null)).to.equal('other');
    expect(classifyError(Symbol('s'))).to.equal('other');
  });
});
