import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Balancer, BalancerAttempt } from '../lib/balancer.js';
import { HttpClientMetrics } from '../lib/http-client-metrics.js';
import { LoadBalancerMetrics } from '../lib/load-balancer-metrics.js';
import { isBrokenResponse } from '../lib/failure.js';
import { describeValue, resolveMetricsOptions } from '../lib/options.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import { ServiceMeshMetrics } from '../lib/service-mesh-metrics.js';
import { exemplarTraceReader, type TraceIdReader } from '../lib/trace-context.js';
import { AdapterResolver, type AdapterSpec } from './axios-adapter.js';
import {
  resolveAxiosOptions,
  type AxiosInstanceLike,
  type InstrumentAxiosOptions,
  type ResolvedAxiosOptions,
} from './axios-options.js';
import { requestBodyBytes, responseBodyBytes } from './axios-sizes.js';
import { AttemptWire, runWatched, watchClientRequests } from './attempt-wire.js';
import { instrumentPolicy } from './instrument-policy.js';
import type { InstrumentedPolicy, PolicyCallContext } from './policy-types.js';

export type {
  AxiosInstanceLike,
  AxiosOperationFunction,
  AxiosRequestConfigLike,
  InstrumentAxiosOptions,
  MeshRequestOptions,
} from './axios-options.js';

/** The adapter a request had before the instrumentation took its place. */
const ORIGINAL_ADAPTER = Symbol('mesh-metrics.axios.adapter');
/** Marks an instance already instrumented. */
const INSTRUMENTED = Symbol.for('mesh-metrics.axios.instrumented');

type Config = InternalAxiosRequestConfig & { [ORIGINAL_ADAPTER]?: AdapterSpec };

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The error a call gets when its balancer has no instance to send it to. */
export interface NoInstanceError extends Error {
  readonly isNoInstanceError: true;
  readonly service: string;
}

/** Whether `error` is a {@link NoInstanceError} (checked by its marker field, so it works across package copies). */
export function isNoInstanceError(error: unknown): error is NoInstanceError {
  return typeof error === 'object' && error !== null && (error as { isNoInstanceError?: unknown }).isNoInstanceError === true;
}

function noInstanceError(service: string): NoInstanceError {
  return Object.assign(new Error(`no instance of service ${JSON.stringify(service)} is registered`), {
    name: 'NoInstanceError',
    isNoInstanceError: true as const,
    service,
  });
}

function callerAborted(config: InternalAxiosRequestConfig): boolean {
  const signal = config.signal as { aborted?: unknown } | undefined;
  return signal?.aborted === true;
}

/** One instrumented axios instance: what runs each call, and each attempt inside it. */
class AxiosInstrumentation {
  private readonly service: string;
  private readonly balancer: Balancer | undefined;
  private readonly policy: InstrumentedPolicy | undefined;
  private readonly operation: ResolvedAxiosOptions['operation'];
  private readonly isFailure: (outcome: unknown) => boolean;
  private readonly calls: ServiceMeshMetrics;
  private readonly lb: LoadBalancerMetrics;
  private readonly self: SelfMetrics;
  private readonly adapters: AdapterResolver;
  /** OpenTelemetry naming: the per-attempt `http_client_request_duration_seconds`. */
  private readonly client: HttpClientMetrics | undefined;
  /** Reads a call's trace id for exemplars; only for an OpenMetrics registry. */
  private readonly traceOf: TraceIdReader | undefined;
  /** The adapter every instrumented request gets; it runs the call. */
  readonly adapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => this.call(config as Config);

  constructor(
    private readonly instance: AxiosInstance,
    options: InstrumentAxiosOptions,
  ) {
    const o = resolveAxiosOptions(options);
    const metrics = resolveMetricsOptions(options);
    this.service = o.service;
    this.balancer = o.balancer;
    this.operation = o.operation;
    this.isFailure = o.isFailure;
    this.calls = new ServiceMeshMetrics(metrics);
    this.lb = new LoadBalancerMetrics(metrics);
    this.self = new SelfMetrics(metrics);
    this.adapters = new AdapterResolver(instance);
    this.client = metrics.naming === 'otel' ? new HttpClientMetrics(metrics) : undefined;
    if (this.balancer !== undefined) watchClientRequests();
    this.traceOf = exemplarTraceReader(metrics.registry);
    this.policy =
      o.policy === undefined
        ? undefined
        : instrumentPolicy(o.policy, { ...options, service: o.service, isFailure: o.isFailure, operation: undefined });
  }

  /** The request interceptor: puts the instrumented adapter in place, keeping the request's own to call. */
  readonly onRequest = (config: InternalAxiosRequestConfig): InternalAxiosRequestConfig => {
    const c = config as Config;
    if (c.adapter !== this.adapter) {
      c[ORIGINAL_ADAPTER] = c.adapter;
      c.adapter = this.adapter;
    } else if (!(ORIGINAL_ADAPTER in c)) {
      // a config sent again (for example `error.config`): its own adapter is the instance's
      c[ORIGINAL_ADAPTER] = this.instance.defaults.adapter;
    }
    return config;
  };

  private async call(config: Config): Promise<AxiosResponse> {
    const operation = this.operationOf(config);
    const policy = this.policyFor(operation);
    if (policy !== undefined) {
      const outer = config.signal instanceof AbortSignal ? config.signal : undefined;
      const own = config.signal === undefined || outer !== undefined;
      // Each call gets a signal of its own: without one, cockatiel hands every call the same never-aborted signal,
      // and the adapters' abort listeners would pile up on it under concurrency.
      const signal = outer ?? new AbortController().signal;
      return policy.execute((ctx: PolicyCallContext) => this.attempt(config, own ? ctx.signal : undefined), signal);
    }
    const start = performance.now();
    const traceId = this.traceIdOf(config);
    let response: AxiosResponse;
    try {
      response = await this.attempt(config, undefined);
    } catch (error) {
      this.recordCall(operation, error, start, traceId);
      throw error;
    }
    this.recordCall(operation, response, start, traceId);
    return response;
  }

  /** One real adapter call, through the balancer when there is one. */
  private async attempt(config: Config, signal: AbortSignal | undefined): Promise<AxiosResponse> {
    const spec = ORIGINAL_ADAPTER in config ? config[ORIGINAL_ADAPTER] : this.instance.defaults.adapter;
    const adapter = await this.adapters.resolve(spec, config);
    const balanced = this.balancer !== undefined && (config.allowAbsoluteUrls === false || !ABSOLUTE_URL.test(config.url ?? ''));
    if (!balanced) return this.send(adapter, signal === undefined ? config : { ...config, signal });
    const attempt = this.start();
    if (attempt === undefined) throw noInstanceError(this.service);
    if (this.traceOf !== undefined) attempt.traceId = this.traceIdOf(config);
    let response: AxiosResponse;
    const sent = requestBodyBytes(config);
    const wire = new AttemptWire();
    const start = performance.now();
    try {
      // The picked instance goes on the call's own config (axios makes one per request, and a call's attempts run
      // one after another); copying the whole config per attempt cost ~10 µs a call (BENCHMARKS.md). An attempt
      // with a signal of its own still gets a copy, so the caller's signal stays on the call's config.
      const attemptConfig: InternalAxiosRequestConfig = signal === undefined ? config : { ...config, signal };
      attemptConfig.baseURL = attempt.instance.url;
      response = await runWatched(wire, () => this.send(adapter, attemptConfig));
    } catch (error) {
      this.wireFigures(attempt, wire, start, sent, (error as { response?: AxiosResponse } | null)?.response, config);
      this.end(attempt, error, signal !== undefined && signal.aborted && !callerAborted(config));
      throw error;
    }
    this.wireFigures(attempt, wire, start, sent, response, config);
    this.end(attempt, response, false);
    return response;
  }

  /**
   * Records an attempt's time to the response head (when Node's client saw one) and its body sizes: the response's
   * wire bytes as the client received them, or, without that view (the fetch adapter) or for a stream still being
   * read, what axios gives.
   */
  private wireFigures(
    attempt: BalancerAttempt,
    wire: AttemptWire,
    start: number,
    sent: number | undefined,
    response: AxiosResponse | undefined,
    config: InternalAxiosRequestConfig,
  ): void {
    try {
      if (wire.headAt >= 0) attempt.firstByte?.((wire.headAt - start) / 1000);
      const streamed = config.responseType === 'stream';
      attempt.bodySizes?.(sent, wire.received >= 0 && !streamed ? wire.received : responseBodyBytes(response));
    } catch {
      this.self.internal();
    }
  }

  /** Runs the adapter; with OpenTelemetry naming, times it into `http_client_request_duration_seconds`. */
  private send(
    adapter: (config: InternalAxiosRequestConfig) => Promise<AxiosResponse>,
    config: InternalAxiosRequestConfig,
  ): Promise<AxiosResponse> {
    const client = this.client;
    if (client === undefined) return adapter(config);
    const start = performance.now();
    const done = (status: number | undefined, error: unknown): void => {
      const url = config.url !== undefined && ABSOLUTE_URL.test(config.url) ? config.url : config.baseURL;
      client.observe(config.method, url, { status, error }, (performance.now() - start) / 1000);
    };
    return adapter(config).then(
      (response) => {
        done(response.status, undefined);
        return response;
      },
      (error: unknown) => {
        done((error as { response?: { status?: number } } | null)?.response?.status, error);
        throw error;
      },
    );
  }

  /**
   * Starts an attempt on the balancer; `undefined` only when it has no instance. The kit's balancer never throws and
   * falls back to a simple pick after an internal fault; a throw from another balancer is counted as internal.
   */
  private start(): BalancerAttempt | undefined {
    const balancer = this.balancer as Balancer;
    let attempt: BalancerAttempt | undefined;
    try {
      attempt = balancer.start();
    } catch {
      this.self.internal();
    }
    if (attempt === undefined) this.lb.recordError(balancer.service, 'no_instance');
    return attempt;
  }

  /** Ends an attempt; `timedOut` when the policy (its timeout) aborted it, rather than the caller. */
  private end(attempt: BalancerAttempt, outcome: unknown, timedOut: boolean): void {
    try {
      if (timedOut) attempt.fail('timeout');
      else if (this.failed(outcome)) attempt.fail(outcome);
      else attempt.succeed();
    } catch {
      this.self.internal();
    }
  }

  private failed(outcome: unknown): boolean {
    try {
      // an error that carries a 2xx/3xx (a body cut by a reset) rejected the call: never a success
      return isBrokenResponse(outcome) || Boolean(this.isFailure(outcome));
    } catch {
      this.self.internal();
      return true;
    }
  }

  private recordCall(operation: string, outcome: unknown, start: number, traceId: string | undefined): void {
    const seconds = (performance.now() - start) / 1000;
    if (this.failed(outcome)) this.calls.recordCallFailure(this.service, operation, outcome, seconds, traceId);
    else this.calls.recordCallSuccess(this.service, operation, seconds, traceId);
  }

  private traceIdOf(config: Config): string | undefined {
    if (this.traceOf === undefined) return undefined;
    try {
      return this.traceOf(config.headers?.get?.('traceparent'));
    } catch {
      this.self.internal();
      return undefined;
    }
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

  private operationOf(config: Config): string {
    try {
      const own = config.mesh?.operation;
      if (typeof own === 'string' && own !== '') return own;
      const op = this.operation;
      if (typeof op === 'string') return op;
      if (op !== undefined) {
        const named = op(config);
        if (typeof named === 'string' && named !== '') return named;
        this.self.internal();
      }
    } catch {
      this.self.internal();
    }
    return typeof config.method === 'string' ? config.method.toLowerCase() : 'get';
  }
}

/**
 * Measures every call an axios instance makes (and every attempt inside it), optionally spreading attempts over a
 * balancer's instances and running calls under a cockatiel policy. Per attempt, with a balancer:
 * `mesh_lb_requests_total`, `mesh_lb_active_connections`, `mesh_lb_request_duration_seconds`, and on failure
 * `mesh_lb_errors_total` plus the instance's health score and outlier detection. Per call: `mesh_calls_total` and
 * `mesh_call_duration_seconds` (recorded by the policy when there is one, with the retry families). Labels never
 * hold anything from a URL's path, query or credentials. Returns the same instance; throws a `TypeError` naming a
 * bad option, or when the instance is already instrumented.
 */
export function instrumentAxios<T extends AxiosInstanceLike>(axiosInstance: T, options: InstrumentAxiosOptions): T {
  const i = axiosInstance as unknown as { interceptors?: { request?: { use?: unknown } }; defaults?: unknown };
  if (typeof i?.interceptors?.request?.use !== 'function' || typeof i.defaults !== 'object' || i.defaults === null) {
    throw new TypeError(`axiosInstance must be an axios instance, got ${describeValue(axiosInstance)}`);
  }
  const marked = axiosInstance as unknown as Record<symbol, unknown>;
  if (marked[INSTRUMENTED] === true) throw new TypeError('axiosInstance is already instrumented by mesh-metrics');
  const axios = axiosInstance as unknown as AxiosInstance;
  const instrumentation = new AxiosInstrumentation(axios, options);
  axios.interceptors.request.use(instrumentation.onRequest, undefined, { synchronous: true });
  Object.defineProperty(axiosInstance, INSTRUMENTED, { value: true });
  return axiosInstance;
}
