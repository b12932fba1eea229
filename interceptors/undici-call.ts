import type { Dispatcher } from 'undici';
import { classifyError } from '../lib/classify-error.js';
import { endAttemptAt, type BalancerAttempt, type BalancerInstance } from '../lib/balancer.js';
import {
  DispatchAttempt,
  type AttemptOutcome,
  type AttemptOwner,
  type UpstreamResponse,
  type UpstreamResponseError,
} from './undici-attempt.js';
import type { CallerSink } from './undici-handler.js';
import { ReplayableBody } from './undici-body.js';
import { headerValue } from './undici-target.js';
import type { InstrumentedPolicy, PolicyCallContext } from './policy-types.js';

type DispatchOptions = Dispatcher.DispatchOptions;

/** How an attempt's promise is settled. */
export interface Settle {
  resolve(response: UpstreamResponse): void;
  reject(error: unknown): void;
}

/** What a call needs from its dispatcher: the shared, per-dispatcher part. */
export interface CallCore {
  readonly service: string;
  readonly inner: Dispatcher;
  /** Whether the request's origin is the balanced service's. */
  balanced(options: DispatchOptions): boolean;
  /**
   * Starts a balancer attempt at `at` (a `performance.now()` reading just taken); `undefined` when there is no
   * instance (counted by the core).
   */
  startAttempt(at: number): BalancerAttempt | undefined;
  /** The request options for an instance: its origin, base path and credentials. */
  forInstance(options: DispatchOptions, instance: BalancerInstance): DispatchOptions;
  failed(outcome: unknown): boolean;
  /** Records a call without a policy; `failed`: whether `outcome` is a failure, `undefined` to have it judged. */
  recordCall(operation: string, outcome: unknown, failed: boolean | undefined, seconds: number, traceId: string | undefined): void;
  traceIdOf(options: DispatchOptions): string | undefined;
  noInstance(): Error;
  internal(): void;
}

function upstreamError(attempt: DispatchAttempt, response: UpstreamResponse): UpstreamResponseError & { attempt: DispatchAttempt } {
  const e = new Error(`upstream answered ${response.status}`) as UpstreamResponseError & { attempt: DispatchAttempt };
  Object.defineProperties(e, {
    name: { value: 'UpstreamResponseError' },
    isUpstreamResponseError: { value: true, enumerable: true },
    status: { value: response.status, enumerable: true },
    response: { value: response, enumerable: true },
    attempt: { value: attempt },
  });
  return e;
}

function abortError(): Error {
  return Object.assign(new Error('This operation was aborted'), { name: 'AbortError', code: 'UND_ERR_ABORTED' });
}

/** What a caller's abort is recorded as: an error `isFailure` and `classifyError` both understand. */
function abortOutcome(as: 'cancelled' | 'timeout'): Error {
  const e = new Error(as === 'timeout' ? 'the caller timed out' : 'the caller aborted');
  e.name = as === 'timeout' ? 'TimeoutError' : 'AbortError';
  return e;
}

/**
 * One call through a mesh dispatcher: its attempts, the caller's handler, and the caller's abort. A call without a
 * policy is its one attempt's {@link Settle} itself (no closures per call), and reads the clock three times: at its
 * start (also its attempt's and the balancer's), at the response head, and at the end (also the balancer's).
 */
export class DispatchCall implements AttemptOwner, Settle {
  private readonly start = performance.now();
  private callerAborted: { reason: unknown; as: 'cancelled' | 'timeout' } | undefined;
  private current: DispatchAttempt | undefined;
  private readonly controller: AbortController | undefined;
  private readonly body: ReplayableBody | undefined;
  private readonly balanced: boolean;
  /** A call without a policy: its outcome so far, and whether that is a failure (`undefined`: still to be judged). */
  private outcome: unknown;
  private outcomeFailed: boolean | undefined;
  private traceId: string | undefined;
  /** When its attempt ended (`performance.now()`); -1 before. */
  private endedAt = -1;

  constructor(
    private readonly core: CallCore,
    private readonly options: DispatchOptions,
    private readonly sink: CallerSink,
    private readonly operation: string,
    private readonly policy: InstrumentedPolicy | undefined,
  ) {
    this.balanced = core.balanced(options);
    if (policy !== undefined) {
      this.controller = new AbortController();
      this.body = ReplayableBody.of(options.body);
    }
  }

  run(): void {
    this.sink.start((reason) => this.abort(reason));
    if (this.sink.done) return;
    if (this.policy === undefined) return this.single();
    const signal = (this.controller as AbortController).signal;
    this.policy
      .execute((ctx) => this.attempt(ctx), signal)
      .then(
        () => undefined,
        (error: unknown) => {
          try {
            this.gaveUp(error);
          } catch {
            // the caller's own handler threw while being told; nothing must escape as an unhandled rejection
            this.core.internal();
          }
        },
      );
  }

  /** The caller aborted: the attempt in flight is aborted, and the policy stops. */
  private abort(reason: unknown): void {
    if (this.sink.done || this.callerAborted !== undefined) return;
    const why = reason ?? abortError();
    // AbortSignal.timeout() aborts with a TimeoutError: the caller's own deadline, counted as a timeout
    const as = classifyError(why) === 'timeout' ? 'timeout' : 'cancelled';
    this.callerAborted = { reason: why, as };
    this.controller?.abort(why);
    this.current?.abort(why, as);
  }

  /** A call without a policy: one attempt, recorded when it ends (or fails before any head, in {@link reject}). */
  private single(): void {
    this.traceId = this.core.traceIdOf(this.options);
    this.send(undefined, this);
  }

  /** Without a policy, the attempt's head needs nothing done: it is forwarded as it is. */
  resolve(): void {
    // nothing waits for the head
  }

  /** Without a policy, the attempt failed before any head (or could not start): the call is recorded and failed. */
  reject(error: unknown): void {
    this.outcome = error;
    this.outcomeFailed = undefined;
    this.recordSingle();
    this.sink.error(this.callerAborted?.reason ?? error);
  }

  /** The end of a call without a policy's attempt; `failedResponse`: its response is a failure (judged once). */
  private singleEnded(o: AttemptOutcome, failedResponse: boolean, at: number): void {
    this.endedAt = at;
    if (o.ok || failedResponse) {
      this.outcome = o.response;
      this.outcomeFailed = failedResponse;
    } else {
      this.outcome = o.failure;
      this.outcomeFailed = undefined;
    }
    if (o.response !== undefined) this.recordSingle();
  }

  private recordSingle(): void {
    const aborted = this.callerAborted;
    const end = this.endedAt >= 0 ? this.endedAt : performance.now();
    const outcome = aborted === undefined ? this.outcome : abortOutcome(aborted.as);
    const failed = aborted === undefined ? this.outcomeFailed : undefined;
    this.core.recordCall(this.operation, outcome, failed, (end - this.start) / 1000, this.traceId);
  }

  /** One attempt under the policy; resolves at a response head the policy should accept. */
  private attempt(ctx: PolicyCallContext): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const signal = ctx.signal;
      let onAbort: (() => void) | undefined;
      const done = (): void => {
        if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
        onAbort = undefined;
      };
      const settle: Settle = {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      if (this.callerAborted !== undefined) return reject(this.callerAborted.reason);
      const attempt = this.send(ctx.attempt, settle);
      if (attempt === undefined) return;
      if (signal.aborted) attempt.abort(signal.reason, 'timeout');
      else {
        onAbort = () => attempt.abort(signal.reason, this.callerAborted?.as ?? 'timeout');
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /** Starts an attempt (through the balancer when the origin is the service's); `undefined` when it failed at once. */
  private send(retry: number | undefined, settle: Settle): DispatchAttempt | undefined {
    const previous = this.current;
    if (previous?.isHeld) previous.discard();
    let options = this.options;
    if (this.body !== undefined) {
      const body = this.body.forAttempt(retry ?? 0);
      if (body instanceof Error) {
        settle.reject(body);
        return undefined;
      }
      options = { ...options, body: body as DispatchOptions['body'] };
    }
    // without a policy the one attempt starts with the call; under one, after the policy's own work
    const at = this.policy === undefined ? this.start : performance.now();
    const attempt = new DispatchAttempt(this, this.sink, at);
    attempt.settle = settle;
    if (this.balanced) {
      const lb = this.core.startAttempt(at);
      if (lb === undefined) {
        settle.reject(this.core.noInstance());
        return undefined;
      }
      attempt.lb = lb;
      try {
        const traceId = this.core.traceIdOf(this.options);
        if (traceId !== undefined) lb.traceId = traceId;
        options = this.core.forInstance(options, lb.instance);
      } catch {
        this.core.internal();
      }
    }
    this.current = attempt;
    try {
      this.core.inner.dispatch(options, attempt as unknown as Dispatcher.DispatchHandler);
    } catch (error) {
      attempt.onError(error as Error);
    }
    return attempt;
  }

  head(attempt: DispatchAttempt, response: UpstreamResponse): 'forward' | 'hold' | 'discard' {
    const settle = attempt.settle;
    if (this.policy === undefined) {
      settle?.resolve(response);
      return 'forward';
    }
    // a late head of an attempt the policy already gave up on (its timeout fired): nobody waits for it
    if (attempt !== this.current || this.sink.done) return 'discard';
    if (this.core.failed(response)) {
      settle?.reject(upstreamError(attempt, response));
      return 'hold';
    }
    settle?.resolve(response);
    return 'forward';
  }

  failed(attempt: DispatchAttempt, error: unknown): void {
    attempt.settle?.reject(error);
  }

  ended(attempt: DispatchAttempt, outcome: AttemptOutcome): void {
    const lb = attempt.lb;
    const single = this.policy === undefined && attempt === this.current;
    if (lb === undefined && !single) return;
    const at = performance.now();
    const response = outcome.response;
    // whether the response is a failure, judged once for the balancer and the call (`failed` never throws)
    const failedResponse = response !== undefined && this.core.failed(response);
    if (lb !== undefined) {
      try {
        // the wire view of the attempt: time to its head, the bytes sent (when known) and received
        if (attempt.headAt >= 0) lb.firstByte?.((attempt.headAt - attempt.startedAt) / 1000);
        lb.bodySizes?.(this.requestBytes(), attempt.headAt >= 0 ? attempt.received : undefined);
        const ok = outcome.ok && !failedResponse;
        endAttemptAt(lb, ok, failedResponse || outcome.ok ? response : outcome.failure, at);
      } catch {
        this.core.internal();
      }
    }
    if (single) this.singleEnded(outcome, failedResponse, at);
  }

  /**
   * The request body bytes of an attempt: a string's or bytes' length, 0 without a body, else (a streamed body,
   * as fetch hands every body over) the request's `Content-Length`; `undefined` when none is known.
   */
  private requestBytes(): number | undefined {
    const body: unknown = this.options.body;
    if (body === undefined || body === null) return 0;
    if (typeof body === 'string') return Buffer.byteLength(body);
    if (body instanceof Uint8Array) return body.byteLength;
    const length = headerValue(this.options.headers, 'content-length');
    const text = Array.isArray(length) ? length[0] : length;
    return typeof text === 'string' && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
  }

  /** The policy failed the call: a held response goes to the caller, anything else is the caller's error. */
  private gaveUp(error: unknown): void {
    const held = (error as { attempt?: unknown } | null)?.attempt;
    if (held instanceof DispatchAttempt && held.isHeld && this.callerAborted === undefined) {
      held.release();
      return;
    }
    this.current?.discard();
    this.sink.error(this.callerAborted?.reason ?? error);
  }
}
