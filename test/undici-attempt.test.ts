import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DispatchAttempt, type AttemptOutcome, type AttemptOwner } from '../interceptors/undici-attempt.js';
import { CallerSink, type LegacyHandler } from '../interceptors/undici-handler.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage until `ref`'s target is gone or `rounds` collections have run; returns whether it is gone. */
async function collected(ref: WeakRef<object>, rounds = 10): Promise<boolean> {
  for (let i = 0; i < rounds && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return ref.deref() === undefined;
}

interface Seen {
  heads: number[];
  chunks: string[];
  completed: number;
  errors: string[];
}

function caller(seen: Seen): LegacyHandler {
  return {
    onConnect() {},
    onHeaders(status) {
      seen.heads.push(status);
      return true;
    },
    onData(chunk) {
      seen.chunks.push(chunk.toString());
      return true;
    },
    onComplete() {
      seen.completed++;
    },
    onError(error) {
      seen.errors.push(error.message);
    },
  };
}

function owner(decision: 'forward' | 'hold', ends: AttemptOutcome[]): AttemptOwner {
  return {
    head: () => decision,
    failed: () => undefined,
    ended: (_attempt, outcome) => void ends.push(outcome),
  };
}

/**
 * An attempt between a caller's handler and an owner, neither referenced from anywhere else once this returns (so
 * only the attempt can keep them alive).
 */
function watched(decision: 'forward' | 'hold', ends: AttemptOutcome[] = []) {
  const seen: Seen = { heads: [], chunks: [], completed: 0, errors: [] };
  const handler = caller(seen);
  const own = owner(decision, ends);
  const attempt = new DispatchAttempt(own, new CallerSink(handler as never), performance.now());
  return { seen, attempt, handlerRef: new WeakRef(handler), ownerRef: new WeakRef(own) };
}

/**
 * undici keeps a finished request, and so the handler the kit gave it, reachable for a while; an attempt that still
 * held the call and the caller's handler kept every later call of that caller alive through young-generation
 * collections. These check that an ended attempt holds neither, while its figures stay.
 */
describe('undici attempt: what an ended attempt keeps', () => {
  it('lets go of the caller and the call once a forwarded response completed, and keeps its figures', async () => {
    const ends: AttemptOutcome[] = [];
    const { seen, attempt, handlerRef, ownerRef } = watched('forward', ends);
    attempt.onConnect(() => undefined);
    attempt.onHeaders(200, [], () => undefined, 'OK');
    attempt.onData(Buffer.from('hello'));
    attempt.onComplete([]);
    expect(seen).to.deep.equal({ heads: [200], chunks: ['hello'], completed: 1, errors: [] });
    expect(ends).to.deep.equal([{ ok: true, response: { status: 200, statusText: 'OK' } }]);
    expect(await collected(handlerRef)).to.equal(true);
    expect(await collected(ownerRef)).to.equal(true);
    expect(attempt.received).to.equal(5);
    expect(attempt.headAt).to.be.greaterThan(0);
  });

  it('keeps a held response until it is released, then lets go after passing its end on', async () => {
    const { seen, attempt, handlerRef } = watched('hold');
    attempt.onHeaders(503, [], () => undefined, 'Service Unavailable');
    attempt.onData(Buffer.from('down'));
    attempt.onComplete([]);
    expect(await collected(handlerRef, 3)).to.equal(false); // still needed: the held response may be released
    attempt.release();
    expect(seen).to.deep.equal({ heads: [503], chunks: ['down'], completed: 1, errors: [] });
    expect(await collected(handlerRef)).to.equal(true);
  });

  it('lets go once a failed attempt told the caller', async () => {
    const { seen, attempt, handlerRef } = watched('forward');
    attempt.onHeaders(200, [], () => undefined, 'OK');
    attempt.onError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    expect(seen.errors).to.deep.equal(['other side closed']);
    expect(await collected(handlerRef)).to.equal(true);
  });
});
