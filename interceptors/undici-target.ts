/** How a balanced request is sent to an instance, and the few header look-ups the dispatcher needs. */
import type { Dispatcher } from 'undici';
import type { BalancerInstance } from '../lib/balancer.js';

type DispatchOptions = Dispatcher.DispatchOptions;

/** Per-instance request rewriting, computed once per instance URL. */
export interface InstanceTarget {
  readonly origin: string;
  readonly basePath: string;
  readonly authorization: string | undefined;
}

export function targetOf(instance: BalancerInstance): InstanceTarget {
  const url = new URL(instance.url);
  const basePath = url.pathname.replace(/\/+$/, '');
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const authorization = user === '' && password === '' ? undefined : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return { origin: instance.origin, basePath, authorization };
}

type Headers = DispatchOptions['headers'];

export function hasHeader(headers: Headers, name: string): boolean {
  if (headers === null || headers === undefined) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) if (String(pair[0]).toLowerCase() === name) return true;
    return false;
  }
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

export function headerValue(headers: Headers, name: string): unknown {
  if (headers === null || headers === undefined) return undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return headers[i + 1];
    return undefined;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) if (String(pair[0]).toLowerCase() === name) return pair[1];
    return undefined;
  }
  const h = headers as Record<string, unknown>;
  return h[name] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
}

export function withHeader(headers: Headers, name: string, value: string): Headers {
  if (headers === null || headers === undefined) return { [name]: value };
  if (Array.isArray(headers)) return [...(headers as string[]), name, value];
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(headers as Iterable<[string, string]>), [name, value]] as unknown as Headers;
  }
  return { ...(headers as Record<string, string>), [name]: value };
}

export function originText(origin: DispatchOptions['origin']): string | undefined {
  if (typeof origin === 'string') return origin;
  if (origin instanceof URL) return origin.origin;
  return undefined;
}
