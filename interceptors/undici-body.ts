/**
 * A request body that a retry can send again. Strings and bytes are sent as they are; a streamed body (fetch hands
 * the dispatcher an async iterable for every body) is kept as it goes out, up to {@link MAX_REPLAY_BYTES}, so that a
 * retry sends the same bytes. A retry of a body that was larger, or not sent in full, fails with
 * `UND_ERR_REQ_RETRY` instead of sending something else.
 */

/** The most bytes of a streamed request body kept for retries. */
export const MAX_REPLAY_BYTES = 1024 * 1024;

type Chunk = string | Uint8Array;

function isAsyncIterable(value: unknown): value is AsyncIterable<Chunk> {
  return typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

function cannotReplay(): Error {
  return Object.assign(new Error('the request body was streamed and cannot be sent again for a retry'), {
    name: 'RequestRetryError',
    code: 'UND_ERR_REQ_RETRY',
  });
}

export class ReplayableBody {
  private kept: Buffer[] | undefined = [];
  private size = 0;
  private complete = false;
  private started = false;

  private constructor(private readonly source: AsyncIterable<Chunk>) {}

  /** `undefined` when the body can be sent again as it is (none, a string, bytes). */
  static of(body: unknown): ReplayableBody | undefined {
    return isAsyncIterable(body) ? new ReplayableBody(body) : undefined;
  }

  /** The body for attempt `n` (0 first), or the error that fails a retry which cannot resend it. */
  forAttempt(n: number): AsyncIterable<Chunk> | Buffer | Error {
    if (n === 0 || !this.started) return this.recording();
    if (!this.complete || this.kept === undefined) return cannotReplay();
    return Buffer.concat(this.kept);
  }

  private async *recording(): AsyncGenerator<Chunk> {
    this.started = true;
    for await (const chunk of this.source) {
      if (this.kept !== undefined) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.size += bytes.byteLength;
        if (this.size > MAX_REPLAY_BYTES) this.kept = undefined;
        else this.kept.push(Buffer.from(bytes));
      }
      yield chunk;
    }
    this.complete = true;
  }
}
