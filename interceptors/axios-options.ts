import type { Balancer } from '../lib/balancer.js';
import { defaultIsFailure } from '../lib/failure.js';
import { describeValue, type MetricsOptions } from '../lib/options.js';
import { checkLogger } from './policy-options.js';
import type { InstrumentedPolicy, PolicyLogger } from './policy-types.js';
import type { PolicyLike } from './policy-walk.js';

/** What one request may tell the instrumentation, as `{ mesh: { ... } }` in its config. */
export interface MeshRequestOptions {
  /** The `operation` label of this call, overriding the client's `operation` option. */
  readonly operation?: string;
}

/**
 * The parts of an axios request config the kit reads. Structural, so that the kit's types never import axios (an
 * optional peer): axios's own config types, from its ESM or its CommonJS declarations, fit it.
 */
export interface AxiosRequestConfigLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly baseURL?: string | undefined;
  readonly headers?: unknown;
  readonly params?: unknown;
  readonly data?: unknown;
  readonly mesh?: MeshRequestOptions | undefined;
}

/**
 * The `operation` option as a function of the request config. Written as a method type so that a function taking
 * axios's own `InternalAxiosRequestConfig` fits too.
 */
export type AxiosOperationFunction = { name(config: AxiosRequestConfigLike): string }['name'];

/**
 * What the kit needs of an axios instance (`axios`, `axios.create(...)`): a request interceptor and the defaults.
 * Structural, so that both of axios's type copies (ESM and CommonJS) fit and a project without axios type-checks.
 */
export interface AxiosInstanceLike {
  readonly defaults: object;
  readonly interceptors: { readonly request: { use(onFulfilled: never, onRejected: never, options: never): unknown } };
}

declare module 'axios' {
  interface AxiosRequestConfig<D = any, P = any> {
    /** mesh-metrics options for this request, such as `{ operation: 'get_user' }`. */
    mesh?: MeshRequestOptions;
  }
}

export interface InstrumentAxiosOptions extends MetricsOptions {
  /** The `service` label of the call families: the service this client talks to. Required, non-empty. */
  readonly service: string;
  /**
   * Spreads the attempts over a service's instances: each attempt picks one (a retry picks again) and the picked
   * instance's URL becomes the attempt's `baseURL`, so request URLs are relative (`/users/1`). A request with an
   * absolute URL bypasses the balancer.
   * @defaultValue none: requests go where their URL says, and no `mesh_lb_*` family is written
   */
  readonly balancer?: Balancer;
  /**
   * A cockatiel policy, or one from `meshPolicy`/`instrumentPolicy`, that runs every call: its retries re-run the
   * request (each retry is a new attempt). The policy records the call and retry families; a plain cockatiel
   * policy is instrumented once, here.
   * @defaultValue none: each call is one attempt, and this client records the call families itself
   */
  readonly policy?: PolicyLike | InstrumentedPolicy;
  /**
   * The `operation` label: a fixed name, or a function of the request config. A request's own
   * `{ mesh: { operation } }` wins over it.
   * @defaultValue the request's HTTP method in lower case (`get`, `post`, ...)
   */
  readonly operation?: string | AxiosOperationFunction;
  /**
   * Which outcomes (a response or an error) are failures, for the attempt (health score, outlier detection,
   * `mesh_lb_errors_total`) and for the call. An error carrying a 2xx/3xx status the request accepted (axios's "stream
   * has been aborted" after a `200` head) is a failure whatever it says; one `validateStatus` refused (a `304`) is not.
   * @defaultValue `defaultIsFailure`: network errors, timeouts and 5xx statuses fail; 4xx are successful calls
   */
  readonly isFailure?: (outcome: unknown) => boolean;
  /**
   * Given to `instrumentPolicy` when `policy` is a plain cockatiel policy (circuit changes, give-ups).
   * @defaultValue none
   */
  readonly logger?: PolicyLogger;
}

export interface ResolvedAxiosOptions {
  readonly service: string;
  readonly balancer: Balancer | undefined;
  readonly policy: PolicyLike | InstrumentedPolicy | undefined;
  readonly operation: string | AxiosOperationFunction | undefined;
  readonly isFailure: (outcome: unknown) => boolean;
}

function hasMethod(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function';
}

/** Checks the options, throwing a `TypeError` naming the bad value (the metrics options are checked elsewhere). */
export function resolveAxiosOptions(options: InstrumentAxiosOptions): ResolvedAxiosOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { service, balancer, policy, operation, isFailure = defaultIsFailure } = options;
  if (typeof service !== 'string' || service === '') {
    throw new TypeError(`service must be a non-empty string, got ${describeValue(service)}`);
  }
  if (balancer !== undefined && !hasMethod(balancer, 'start')) {
    throw new TypeError(`balancer must come from createBalancer(), got ${describeValue(balancer)}`);
  }
  if (policy !== undefined && !hasMethod(policy, 'execute')) {
    throw new TypeError(`policy must be a cockatiel policy (an object with execute()), got ${describeValue(policy)}`);
  }
  const okOperation =
    operation === undefined || typeof operation === 'function' || (typeof operation === 'string' && operation !== '');
  if (!okOperation) {
    throw new TypeError(`operation must be a non-empty string or a function, got ${describeValue(operation)}`);
  }
  if (typeof isFailure !== 'function') throw new TypeError(`isFailure must be a function, got ${describeValue(isFailure)}`);
  // checked here too, so a bad logger is refused whether or not a policy is given now
  checkLogger(options.logger);
  return { service, balancer, policy, operation, isFailure };
}
