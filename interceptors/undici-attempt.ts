import { performance } from 'node:perf_hooks';
import type { BalancerAttempt } from '../lib/balancer.js';
import type { CallerSink, LegacyHandler } from './undici-handler.js';

type RawList = Parameters<NonNullable<LegacyHandler['onHeaders']>>[1];

/** What a response head looks like to `isFailure` and `classifyError`: `{ status }`, as a fetch `Response` has. */
export interface UpstreamResponse {
  readonly status: number;
  readonly statusText: string;
}

/**
 * The error a call's policy sees for a response `isFailure` judged failed (a 5xx by default), so that retries and
 * circuit breakers treat it like any failure; when the policy gives up, the caller gets the response itself.
 */
export interface UpstreamResponseError extends Error {
  readonly isUpstreamResponseError: true;
  readonly status: number;
  readonly response: UpstreamResponse;
}

/** Whether `error` is an {@link UpstreamResponseError} (by its marker field, so it works across package copies). */
export function isUpstreamResponseError(error: unknown): error is UpstreamResponseError {
  return (
    typeof error === 'object' && error !== null && (error as { isUpstreamResponseError?: unknown }).isUpstreamResponseError === true
  );
}

/**
 * - `forward`: everything goes to the caller as it arrives;
 * - `hold`: the head and body are kept until the call decides (a failed response a retry may replace);
 * - `discard`: a held response that lost; the rest of its body is read and dropped, so its connection is reused.
 */
type Mode = 'wait' | 'forward' | 'hold' | 'discard';

/** What the call decides when a response head arrives, and hears about an attempt's end. */
export interface AttemptOwner {
  /** The head arrived: returns what to do with the response. */
  head(attempt: DispatchAttempt, response: UpstreamResponse): 'forward' | 'hold' | 'discard';
  /** The attempt failed before any head. */
  failed(attempt: DispatchAttempt, error: unknown): void;
  /** The attempt ended (complete, failed, aborted): the balancer's attempt is ended with this outcome. */
  ended(attempt: DispatchAttempt, outcome: AttemptOutcome): void;
}

export type AttemptOutcome =
  | { readonly ok: true; readonly response: UpstreamResponse }
  | { readonly ok: false; readonly failure: unknown; readonly response?: UpstreamResponse };

/**
 * One attempt of a call: the handler given to the dispatcher underneath (undici 6 shape, which both majors take).
 * Once its end has reached the caller it lets go of the call, the caller's handler and the response head: undici
 * keeps a finished request (and so its handler) reachable for a while, and through those references every call made
 * since by the same caller (its promise chain) would survive the young-generation collections (measured on Node 20:
 * four times the scavenge time per call; see BENCHMARKS.md).
 */
export class DispatchAttempt implements LegacyHandler {
  private mode: Mode = 'wait';
  private abortInner: ((reason?: unknown) => void) | undefined;
  private abortReason: { reason: unknown } | undefined;
  private head: { status: number; raw: RawList; resume: () => void; text: string } | undefined;
  /** The body chunks of a held response (allocated when the first one is held). */
  private held: Buffer[] | undefined;
  private heldEnd: { trailers: RawList } | { error: unknown } | undefined;
  private finished = false;
  /** The call and the caller's handler; `undefined` once the attempt's end reached the caller. */
  private owner: AttemptOwner | undefined;
  private sink: CallerSink | undefined;
  response: UpstreamResponse | undefined;
  /** Set by the call: the balancer's attempt, `undefined` when the request bypasses the balancer. */
  lb: BalancerAttempt | undefined;
  /** Settles the attempt's promise at its head or its failure (set by the call). */
  settle: { resolve(response: UpstreamResponse): void; reject(error: unknown): void } | undefined;
  /** Why the call aborted this attempt: `cancelled` (the caller) or `timeout` (the policy). */
  abortedAs: 'cancelled' | 'timeout' | undefined;
  /** When the response head arrived (`performance.now()`; -1: none yet). */
  headAt = -1;
  /** Response body bytes as undici received them (before fetch decompresses them). */
  received = 0;

  /** @param startedAt `performance.now()` at the attempt's start */
  constructor(owner: AttemptOwner, sink: CallerSink, readonly startedAt: number) {
    this.owner = owner;
    this.sink = sink;
  }

  /** Aborts the attempt (now, or as soon as the dispatcher hands over its abort function). */
  abort(reason: unknown, as: 'cancelled' | 'timeout'): void {
    if (this.finished) return;
    this.abortedAs ??= as;
    this.abortReason ??= { reason };
    this.abortInner?.(reason);
  }

  /** Sends a held response to the caller: what arrived so far, then the rest as it comes. */
  release(): void {
    const head = this.head;
    const sink = this.sink;
    if (this.mode !== 'hold' || head === undefined || sink === undefined) return;
    this.mode = 'forward';
    sink.headers(head.status, head.raw, head.resume, head.text);
    for (const chunk of this.held ?? []) sink.data(chunk);
    this.held = undefined;
    const end = this.heldEnd;
    if (end === undefined) return;
    if ('trailers' in end) sink.complete(end.trailers);
    else sink.error(end.error);
    this.detach();
  }

  /** Drops a held response; its body is still read to the end (and thrown away). */
  discard(): void {
    if (this.mode !== 'hold') return;
    this.mode = 'discard';
    this.held = undefined;
    if (this.finished) this.detach();
  }

  get isHeld(): boolean {
    return this.mode === 'hold';
  }

  onConnect(abort: (reason?: unknown) => void): void {
    this.abortInner = abort;
    if (this.abortReason !== undefined) abort(this.abortReason.reason);
  }

  onHeaders(status: number, raw: RawList, resume: () => void, text: string): boolean {
    const owner = this.owner;
    if (this.mode !== 'wait' || owner === undefined) return true;
    this.headAt = performance.now();
    const response: UpstreamResponse = { status, statusText: text ?? '' };
    this.response = response;
    this.head = { status, raw, resume, text };
    this.mode = owner.head(this, response);
    return this.mode === 'forward' ? (this.sink as CallerSink).headers(status, raw, resume, text) : true;
  }

  onData(chunk: Buffer): boolean {
    this.received += chunk.length;
    if (this.mode === 'forward') return (this.sink as CallerSink).data(chunk);
    if (this.mode === 'hold') (this.held ??= []).push(chunk);
    return true;
  }

  onComplete(trailers: RawList): void {
    const owner = this.owner;
    if (this.finished || owner === undefined) return;
    this.finished = true;
    const response = this.response as UpstreamResponse;
    owner.ended(this, { ok: true, response });
    if (this.mode === 'hold') {
      this.heldEnd = { trailers };
      return;
    }
    if (this.mode === 'forward') (this.sink as CallerSink).complete(trailers);
    this.detach();
  }

  onError(error: Error): void {
    const owner = this.owner;
    if (this.finished || owner === undefined) return;
    this.finished = true;
    const failure = this.abortedAs ?? error;
    const response = this.response;
    owner.ended(this, response === undefined ? { ok: false, failure } : { ok: false, failure, response });
    if (this.mode === 'hold') {
      this.heldEnd = { error };
      return;
    }
    if (this.mode === 'wait') owner.failed(this, this.abortReason?.reason ?? error);
    else if (this.mode === 'forward') (this.sink as CallerSink).error(this.abortReason?.reason ?? error);
    this.detach();
  }

  /** Lets go of everything but the figures, once the attempt's end reached the caller (or nobody waits for it). */
  private detach(): void {
    this.owner = undefined;
    this.sink = undefined;
    this.head = undefined;
    this.held = undefined;
    this.heldEnd = undefined;
    this.settle = undefined;
    this.abortInner = undefined;
    this.lb = undefined;
  }

  onUpgrade(): void {
    // upgrades are passed through unmeasured and never reach an attempt; an unexpected one is an error
    this.onError(new Error('unexpected upgrade'));
  }
}
