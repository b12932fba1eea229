import type { Balancer } from '../lib/balancer.js';
import { defaultIsFailure } from '../lib/failure.js';
import { describeValue, type MetricsOptions } from '../lib/options.js';
import { checkLogger } from './policy-options.js';
import type { InstrumentedPolicy, PolicyLogger } from './policy-types.js';
import type { PolicyLike } from './policy-walk.js';

/**
 * What `operation` receives: the dispatch options of the call, as undici hands them to a dispatcher (seen
 * structurally, so the kit's types need no undici installed).
 */
export interface MeshDispatchOptions {
  readonly origin?: string | URL;
  readonly path: string;
  readonly method: string;
  readonly headers?: unknown;
  readonly body?: unknown;
}

/** An undici dispatcher (an `Agent`, a `Pool`, a composed one), seen structurally. */
export interface DispatcherLike {
  dispatch(options: never, handler: never): boolean;
  close(...args: never[]): unknown;
  destroy(...args: never[]): unknown;
}

export interface MeshDispatcherOptions extends MetricsOptions {
  /** The `service` label of the call families: the service this dispatcher's calls go to. Required, non-empty. */
  readonly service: string;
  /**
   * Spreads the calls addressed to `origin` over a service's instances: each attempt picks one (a retry picks
   * again), and the request goes to the picked instance's origin, under its base path and with its credentials.
   * A request to any other origin bypasses the balancer.
   * @defaultValue none: requests go where their URL says, and no `mesh_lb_*` family is written
   */
  readonly balancer?: Balancer;
  /**
   * The origin that stands for the balanced service in request URLs (`fetch('http://users/users/1', ...)`). Only
   * requests to it go through the balancer.
   * @defaultValue `http://<service>`
   */
  readonly origin?: string;
  /**
   * A cockatiel policy, or one from `meshPolicy`/`instrumentPolicy`, that runs every call: its retries re-send the
   * request (each retry is a new attempt). A response that `isFailure` judges failed (5xx by default) is retried like
   * an error; when the policy gives up on it, the caller gets that last response.
   * @defaultValue none: each call is one attempt, and this dispatcher records the call families itself
   */
  readonly policy?: PolicyLike | InstrumentedPolicy;
  /**
   * The `operation` label: a fixed name, or a function of the dispatch options.
   * @defaultValue the request's HTTP method in lower case (`get`, `post`, ...)
   */
  readonly operation?: string | ((options: MeshDispatchOptions) => string);
  /**
   * Which outcomes (a response `{ status }` or an error) are failures, for the attempt and for the call.
   * @defaultValue `defaultIsFailure`: network errors, timeouts and 5xx statuses fail; 4xx are successful calls
   */
  readonly isFailure?: (outcome: unknown) => boolean;
  /**
   * The dispatcher the attempts go through (an undici `Agent`, `Pool`, or one with undici interceptors composed).
   * @defaultValue a new `Agent` of the installed `undici` package, whose pools feed the `mesh_lb_pool_*` gauges
   */
  readonly dispatcher?: DispatcherLike;
  /**
   * The `undici` module (6 or 7) to build on, when it cannot be loaded as the peer dependency `undici`.
   * @defaultValue the installed `undici` package, loaded on first use
   */
  readonly undici?: object;
  /**
   * Given to `instrumentPolicy` when `policy` is a plain cockatiel policy (circuit changes, give-ups).
   * @defaultValue none
   */
  readonly logger?: PolicyLogger;
}

export interface ResolvedDispatcherOptions {
  readonly service: string;
  readonly balancer: Balancer | undefined;
  /** `scheme://host[:port]`, as `URL#origin` spells it. */
  readonly origin: string;
  readonly policy: PolicyLike | InstrumentedPolicy | undefined;
  readonly operation: string | ((options: MeshDispatchOptions) => string) | undefined;
  readonly isFailure: (outcome: unknown) => boolean;
  readonly dispatcher: DispatcherLike | undefined;
}

function hasMethod(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function';
}

function resolveOrigin(origin: unknown, service: string): string {
  const given = origin !== undefined;
  const text = given ? origin : `http://${service}`;
  let url: URL | undefined;
  try {
    url = typeof text === 'string' ? new URL(text) : undefined;
  } catch {
    url = undefined;
  }
  const ok = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:');
  if (!ok || url === undefined || url.origin === 'null') {
    if (!given) throw new TypeError(`origin is needed: http://${service} is not a valid origin for service ${describeValue(service)}`);
    throw new TypeError(`origin must be an http or https URL, got ${describeValue(origin)}`);
  }
  return url.origin;
}

/** Checks the options of `meshDispatcher`, throwing a `TypeError` naming the bad value (metrics options aside). */
export function resolveDispatcherOptions(options: MeshDispatcherOptions): ResolvedDispatcherOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { service, balancer, policy, operation, isFailure = defaultIsFailure, dispatcher } = options;
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
  if (dispatcher !== undefined && !hasMethod(dispatcher, 'dispatch')) {
    throw new TypeError(`dispatcher must be an undici dispatcher (an object with dispatch()), got ${describeValue(dispatcher)}`);
  }
  checkLogger(options.logger);
  return {
    service,
    balancer,
    origin: resolveOrigin(options.origin, service),
    policy,
    operation,
    isFailure,
    dispatcher,
  };
}
