/**
 * Duck-typed views of cockatiel policies (3 and 4), so the kit never imports cockatiel at run time: finding the
 * circuit breakers and retries inside wrapped policies, and running a wrapped chain while seeing each retry's
 * attempt number.
 */

/** What `fn` receives from a policy: at least a signal; retries add `attempt` (0 for the first attempt). */
export interface PolicyContextLike {
  readonly signal?: AbortSignal;
  readonly attempt?: number;
}

/** Any cockatiel policy (`IPolicy` of cockatiel 3 or 4), seen structurally. */
export interface PolicyLike {
  execute(fn: (context: PolicyContextLike) => unknown, signal?: AbortSignal): PromiseLike<unknown>;
}

/** A disposable subscription, as cockatiel's `Event<T>` hands back. */
export interface DisposableLike {
  dispose(): void;
}

/** A cockatiel `CircuitBreakerPolicy`, seen structurally. */
export interface CircuitBreakerLike extends PolicyLike {
  readonly state: number;
  onStateChange(listener: (state: number) => void): DisposableLike;
}

/** One policy of a flattened chain; `retry` marks a `RetryPolicy`, whose context carries the attempt number. */
export interface ChainLink {
  readonly policy: PolicyLike;
  readonly retry: boolean;
}

/** Receives the attempt number each retry hands to the policies and function inside it. */
export interface AttemptSink {
  attempt(attempt: number): void;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Whether `value` has an `execute` method, the one thing every cockatiel policy has. */
export function isPolicyLike(value: unknown): value is PolicyLike {
  return isObject(value) && typeof value.execute === 'function';
}

/** A `CircuitBreakerPolicy`: it has a numeric `state`, `onStateChange` and `isolate`. */
export function isCircuitBreakerLike(value: unknown): value is CircuitBreakerLike {
  return (
    isPolicyLike(value) &&
    typeof (value as unknown as Record<string, unknown>).onStateChange === 'function' &&
    typeof (value as unknown as Record<string, unknown>).isolate === 'function' &&
    typeof (value as unknown as Record<string, unknown>).state === 'number'
  );
}

/** A `RetryPolicy`: it has the `onRetry` and `onGiveUp` events. */
export function isRetryLike(value: unknown): boolean {
  return (
    isPolicyLike(value) &&
    typeof (value as unknown as Record<string, unknown>).onRetry === 'function' &&
    typeof (value as unknown as Record<string, unknown>).onGiveUp === 'function'
  );
}

/** The policies `wrap(...)` combined (cockatiel 3 and 4 both keep them in `wrapped`), or `undefined`. */
function wrappedOf(policy: PolicyLike): readonly unknown[] | undefined {
  const wrapped = (policy as unknown as { wrapped?: unknown }).wrapped;
  return Array.isArray(wrapped) && wrapped.length > 0 && wrapped.every(isPolicyLike) ? wrapped : undefined;
}

/**
 * The policy as a flat chain, outermost first: `wrap(a, wrap(b, c))` becomes `[a, b, c]`. Running the flat chain is
 * what cockatiel's `wrap` does (each policy runs the rest inside it, contexts merged), so behaviour is unchanged.
 */
export function flattenPolicy(policy: PolicyLike, depth = 0): ChainLink[] {
  const wrapped = depth < 32 ? wrappedOf(policy) : undefined;
  if (wrapped === undefined) return [{ policy, retry: isRetryLike(policy) }];
  const links: ChainLink[] = [];
  for (const inner of wrapped) links.push(...flattenPolicy(inner as PolicyLike, depth + 1));
  return links;
}

/** Every circuit breaker in a chain, each once. */
export function circuitBreakersIn(chain: readonly ChainLink[]): CircuitBreakerLike[] {
  const found = new Set<CircuitBreakerLike>();
  for (const link of chain) if (isCircuitBreakerLike(link.policy)) found.add(link.policy);
  return [...found];
}

/**
 * Runs `fn` through the chain the way cockatiel's `wrap` does: policy `i` executes the rest of the chain, and each
 * function receives the contexts merged so far (`{ ...outer, ...inner }`). Each time a retry policy hands over a
 * context, its attempt number goes to `sink` first, so the retry is attributed to this call alone.
 */
export function runChain(
  chain: readonly ChainLink[],
  fn: (context: PolicyContextLike) => unknown,
  signal: AbortSignal | undefined,
  sink: AttemptSink,
): Promise<unknown> {
  const run = (context: PolicyContextLike, i: number): unknown => {
    const link = chain[i];
    if (link === undefined) return fn(context);
    return link.policy.execute((next) => {
      if (link.retry && typeof next?.attempt === 'number') sink.attempt(next.attempt);
      return run({ ...context, ...next }, i + 1);
    }, context.signal);
  };
  return Promise.resolve(run(signal === undefined ? {} : { signal }, 0));
}
