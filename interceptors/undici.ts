import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { startAttemptAt, type Balancer, type BalancerAttempt, type BalancerInstance } from '../lib/balancer.js';
import { LoadBalancerMetrics } from '../lib/load-balancer-metrics.js';
import { describeValue, resolveMetricsOptions } from '../lib/options.js';
import { PoolMetrics, type PoolStatsLike } from '../lib/pool-metrics.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { exemplarTraceReader, type TraceIdReader } from '../lib/trace-context.js';
import { instrumentPolicy } from './instrument-policy.js';
import type { InstrumentedPolicy } from './policy-types.js';
import { DispatchCall, type CallCore } from './undici-call.js';
import { CallerSink } from './undici-handler.js';
import {
  resolveDispatcherOptions,
  type MeshDispatcherOptions,
  type MeshDispatchOptions,
  type ResolvedDispatcherOptions,
} from './undici-options.js';
import { hasHeader, headerValue, originText, targetOf, withHeader, type InstanceTarget } from './undici-target.js';

export type { DispatcherLike, MeshDispatcherOptions, MeshDispatchOptions } from './undici-options.js';
export { isUpstreamResponseError, type UpstreamResponse, type UpstreamResponseError } from './undici-attempt.js';

type DispatchOptions = Dispatcher.DispatchOptions;

/** The part of the undici module (6 or 7) the dispatcher is built on. */
interface UndiciModule {
  Dispatcher: new () => Dispatcher;
  Agent: new (options?: object) => Dispatcher;
  Pool: new (origin: string | URL, options?: object) => Dispatcher & { stats?: PoolStatsLike };
}

let loaded: UndiciModule | undefined;

function checkModule(value: unknown): UndiciModule {
  const m = value as Record<string, unknown> | null;
  const missing =
    typeof m !== 'object' || m === null ? 'everything' : ['Dispatcher', 'Agent', 'Pool'].find((n) => typeof m[n] !== 'function');
  if (missing !== undefined) {
    throw new TypeError(`undici must be the undici module (6 or 7), got ${describeValue(value)} (missing ${missing})`);
  }
  return value as UndiciModule;
}

/** The installed `undici` package, loaded on first use so that the kit never needs it otherwise. */
function loadUndici(): UndiciModule {
  if (loaded !== undefined) return loaded;
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('undici');
  } catch (error) {
    throw new Error('meshDispatcher needs the optional peer dependency undici (^6 or ^7): install it, or pass the module as options.undici', {
      cause: error,
    });
  }
  return (loaded = checkModule(mod));
}

/** The dispatcher type the global `fetch` takes, as `@types/node` declares it (`unknown` without Node's types). */
export type FetchDispatcher = RequestInit extends { dispatcher?: infer D } ? NonNullable<D> : unknown;

/** What every dispatcher made by {@link meshDispatcher} has, whichever undici it is built on. */
export interface MeshDispatcherBase {
  dispatch(options: MeshDispatchOptions, handler: object): boolean;
  /** Closes the dispatcher underneath (waiting for its requests), and takes the pool gauges away. */
  close(): Promise<void>;
  /** Destroys the dispatcher underneath (aborting its requests), and takes the pool gauges away. */
  destroy(): Promise<void>;
}

/**
 * A dispatcher made by {@link meshDispatcher}: at run time an instance of the undici module's own `Dispatcher`, so
 * `request()`, `compose()` and the rest work. Typed as the dispatcher the global `fetch` takes, so that
 * `fetch(url, { dispatcher })` type-checks; given `undici` (the module), `meshDispatcher` also types it as that
 * module's `Dispatcher`, for its `request()` and `setGlobalDispatcher()`. The kit's types import no undici.
 */
export type MeshDispatcher<D = unknown> = MeshDispatcherBase & FetchDispatcher & D;

/** An undici module (`import * as undici from 'undici'`), seen structurally. */
export interface UndiciModuleLike {
  readonly Dispatcher: abstract new (...args: never[]) => object;
}

function noInstanceError(service: string): Error {
  return Object.assign(new Error(`no instance of service ${JSON.stringify(service)} is registered`), {
    name: 'NoInstanceError',
    isNoInstanceError: true as const,
    service,
  });
}

/** What every call of one mesh dispatcher shares. */
class MeshDispatchCore implements CallCore {
  readonly service: string;
  readonly inner: Dispatcher;
  private readonly o: ResolvedDispatcherOptions;
  private readonly policy: InstrumentedPolicy | undefined;
  private readonly calls: ServiceMeshMetrics;
  private readonly lb: LoadBalancerMetrics;
  private readonly self: SelfMetrics;
  private readonly traceOf: TraceIdReader | undefined;
  private readonly targets = new Map<string, InstanceTarget>();
  /** Origins seen in requests, normalised (`HTTP://Users:80` is `http://users`); bounded. */
  private readonly origins = new Map<string, boolean>();
  private readonly pools = new Map<string, { stats?: PoolStatsLike }>();
  private readonly poolWatch: { dispose(): void } | undefined;

  constructor(options: MeshDispatcherOptions, o: ResolvedDispatcherOptions, undici: UndiciModule) {
    this.o = o;
    const metrics = resolveMetricsOptions(options);
    this.service = o.service;
    this.calls = new ServiceMeshMetrics(metrics);
    this.lb = new LoadBalancerMetrics(metrics);
    this.self = new SelfMetrics(metrics);
    this.traceOf = exemplarTraceReader(metrics.registry);
    this.policy =
      o.policy === undefined
        ? undefined
        : instrumentPolicy(o.policy, { ...options, service: o.service, isFailure: o.isFailure, operation: undefined });
    this.inner = (o.dispatcher as Dispatcher | undefined) ?? this.ownAgent(undici);
    if (o.balancer !== undefined) {
      const balancer = o.balancer;
      this.poolWatch = new PoolMetrics(metrics).watch(() => this.poolStats(balancer));
    }
  }

  /** An `Agent` whose pools are remembered by origin, so their stats can be read at scrape time. */
  private ownAgent(undici: UndiciModule): Dispatcher {
    const { Agent, Pool } = undici;
    return new Agent({
      factory: (origin: string | URL, opts: object) => {
        const pool = new Pool(origin, opts);
        this.pools.set(originText(origin) ?? String(origin), pool);
        return pool;
      },
    });
  }

  private *poolStats(balancer: Balancer): Iterable<readonly [string, string, PoolStatsLike]> {
    const own = this.o.dispatcher === undefined;
    const all = own ? undefined : (this.inner as unknown as { stats?: Record<string, PoolStatsLike> }).stats;
    for (const { origin } of balancer.instances()) {
      const stats = own ? this.pools.get(origin)?.stats : all?.[origin];
      if (stats !== undefined) yield [this.service, origin, stats];
    }
  }

  dispatch(options: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (!CallerSink.valid(handler) || typeof options !== 'object' || options === null) {
      return this.inner.dispatch(options, handler);
    }
    // upgrades (WebSocket, CONNECT) are not request/response calls: passed through, unmeasured
    if (options.upgrade || options.method === 'CONNECT') return this.inner.dispatch(options, handler);
    let call: DispatchCall;
    try {
      const operation = this.operationOf(options as unknown as MeshDispatchOptions);
      call = new DispatchCall(this, options, new CallerSink(handler as never), operation, this.policyFor(operation));
    } catch {
      this.internal();
      return this.inner.dispatch(options, handler);
    }
    call.run();
    return true;
  }

  dispose(): void {
    this.poolWatch?.dispose();
  }

  balanced(options: DispatchOptions): boolean {
    if (this.o.balancer === undefined) return false;
    const text = originText(options.origin);
    if (text === undefined) return false;
    if (text === this.o.origin) return true;
    let same = this.origins.get(text);
    if (same === undefined) {
      try {
        same = new URL(text).origin === this.o.origin;
      } catch {
        same = false;
      }
      if (this.origins.size < 256) this.origins.set(text, same);
    }
    return same;
  }

  startAttempt(at: number): BalancerAttempt | undefined {
    const balancer = this.o.balancer as Balancer;
    let attempt: BalancerAttempt | undefined;
    try {
      attempt = startAttemptAt(balancer, at);
    } catch {
      this.self.internal();
    }
    if (attempt === undefined) this.lb.recordError(balancer.service, 'no_instance');
    return attempt;
  }

  forInstance(options: DispatchOptions, instance: BalancerInstance): DispatchOptions {
    let t = this.targets.get(instance.url);
    if (t === undefined) {
      t = targetOf(instance);
      if (this.targets.size < 1024) this.targets.set(instance.url, t);
    }
    const path = t.basePath === '' ? options.path : t.basePath + options.path;
    const headers =
      t.authorization === undefined || hasHeader(options.headers, 'authorization')
        ? options.headers
        : withHeader(options.headers, 'authorization', t.authorization);
    return { ...options, origin: t.origin, path, headers };
  }

  failed(outcome: unknown): boolean {
    try {
      return Boolean(this.o.isFailure(outcome));
    } catch {
      this.self.internal();
      return true;
    }
  }

  recordCall(operation: string, outcome: unknown, failed: boolean | undefined, seconds: number, traceId: string | undefined): void {
    if (failed ?? this.failed(outcome)) this.calls.recordCallFailure(this.service, operation, outcome, seconds, traceId);
    else this.calls.recordCallSuccess(this.service, operation, seconds, traceId);
  }

  traceIdOf(options: DispatchOptions): string | undefined {
    if (this.traceOf === undefined) return undefined;
    try {
      return this.traceOf(headerValue(options.headers, 'traceparent'));
    } catch {
      this.self.internal();
      return undefined;
    }
  }

  noInstance(): Error {
    return noInstanceError(this.service);
  }

  internal(): void {
    this.self.internal();
  }

  private policyFor(operation: string): InstrumentedPolicy | undefined {
    const policy = this.policy;
    if (policy === undefined) return undefined;
    try {
      return policy.forOperation(operation);
    } catch {
      this.self.internal();
      return policy;
    }
  }

  private operationOf(options: MeshDispatchOptions): string {
    const op = this.o.operation;
    try {
      if (typeof op === 'string') return op;
      if (op !== undefined) {
        const named = op(options);
        if (typeof named === 'string' && named !== '') return named;
        this.self.internal();
      }
    } catch {
      this.self.internal();
    }
    return typeof options.method === 'string' ? options.method.toLowerCase() : 'get';
  }
}

const classes = new WeakMap<UndiciModule, new (core: MeshDispatchCore) => Dispatcher>();

/** A subclass of the module's own `Dispatcher`, so every method undici adds to it (`request`, `compose`, ...) works. */
function dispatcherClass(undici: UndiciModule): new (core: MeshDispatchCore) => Dispatcher {
  let C = classes.get(undici);
  if (C !== undefined) return C;
  const Base = undici.Dispatcher as unknown as new () => Dispatcher;
  class MeshDispatcherImpl extends (Base as new () => object) {
    readonly #core: MeshDispatchCore;
    constructor(core: MeshDispatchCore) {
      super();
      this.#core = core;
    }
    dispatch(options: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      return this.#core.dispatch(options, handler);
    }
    close(...args: unknown[]): unknown {
      this.#core.dispose();
      return (this.#core.inner.close as (...a: unknown[]) => unknown).apply(this.#core.inner, args);
    }
    destroy(...args: unknown[]): unknown {
      this.#core.dispose();
      return (this.#core.inner.destroy as (...a: unknown[]) => unknown).apply(this.#core.inner, args);
    }
  }
  C = MeshDispatcherImpl as unknown as new (core: MeshDispatchCore) => Dispatcher;
  classes.set(undici, C);
  return C;
}

/**
 * An undici dispatcher that measures every call made through it, for the global `fetch`
 * (`fetch(url, { dispatcher })` or `setGlobalDispatcher`) and undici's `request`: the same families and labels as
 * {@link instrumentAxios}. Per attempt, with a balancer: `mesh_lb_requests_total`, `mesh_lb_active_connections`,
 * `mesh_lb_request_duration_seconds` (to the end of the body), and on failure `mesh_lb_errors_total`, the health score
 * and outlier detection; the pools' `mesh_lb_pool_*` gauges. Per call: `mesh_calls_total` and
 * `mesh_call_duration_seconds` (recorded by the policy when there is one, with the retry families). Labels never hold
 * anything from a URL. Throws a `TypeError` naming a bad option.
 */
export function meshDispatcher<M extends UndiciModuleLike>(
  options: MeshDispatcherOptions & { readonly undici: M },
): MeshDispatcher<InstanceType<M['Dispatcher']>>;
export function meshDispatcher(options: MeshDispatcherOptions): MeshDispatcher;
export function meshDispatcher(options: MeshDispatcherOptions): MeshDispatcher {
  const resolved = resolveDispatcherOptions(options);
  const given = options.undici;
  const undici = given === undefined ? loadUndici() : checkModule(given);
  const C = dispatcherClass(undici);
  return new C(new MeshDispatchCore(options, resolved, undici)) as unknown as MeshDispatcher;
}
