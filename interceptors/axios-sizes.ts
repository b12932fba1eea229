/** Body sizes of an axios attempt, from what axios gives: the transformed request body and the response (kept apart from `axios.ts`). */
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { Buffer } from 'node:buffer';

function lengthHeader(headers: unknown): number | undefined {
  const h = headers as { get?: (name: string) => unknown; [k: string]: unknown } | undefined;
  const v = typeof h?.get === 'function' ? h.get('content-length') : h?.['content-length'];
  const text = typeof v === 'number' ? String(v) : v;
  return typeof text === 'string' && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

function byteLengthOf(data: unknown): number | undefined {
  if (data === undefined || data === null) return 0;
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return undefined;
}

/**
 * The request body bytes of an attempt: the transformed body axios sends (a string, a Buffer or an array buffer),
 * else its `Content-Length`; `undefined` for a body of unknown length (a stream without one).
 */
export function requestBodyBytes(config: InternalAxiosRequestConfig): number | undefined {
  try {
    return byteLengthOf(config.data) ?? lengthHeader(config.headers);
  } catch {
    return undefined;
  }
}

/**
 * The response body bytes of an attempt: its `Content-Length` (the bytes on the wire, compressed when the response
 * was), else the length of the body axios gave (after decompression); `undefined` without a response, or for a
 * streamed body without a length.
 */
export function responseBodyBytes(response: AxiosResponse | undefined): number | undefined {
  if (response === undefined || response === null) return undefined;
  try {
    return lengthHeader(response.headers) ?? byteLengthOf(response.data);
  } catch {
    return undefined;
  }
}
