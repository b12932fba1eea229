/**
 * The caller's side of a dispatch: undici handlers come in two shapes (undici 6's `onConnect`/`onHeaders`/`onData`/
 * `onComplete`/`onError`, which every Node line's `fetch` and undici's `request` use, and undici 7's controller-based
 * `onRequestStart`/`onResponseStart`/...), and {@link CallerSink} speaks to either with one set of calls, at most
 * one ending.
 */

type Raw = Buffer | string;
type RawList = Raw[] | Raw[][] | null | undefined;

/** The handler shape of undici 6 (and of `fetch` on every Node line). */
export interface LegacyHandler {
  onConnect?(abort: (reason?: unknown) => void, context?: object): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: RawList, resume: () => void, statusText: string): boolean | void;
  onData?(chunk: Buffer): boolean | void;
  onComplete?(rawTrailers: RawList): void;
  onError?(error: Error): void;
  onUpgrade?(status: number, rawHeaders: RawList, socket: unknown): void;
}

/** The controller a handler of undici 7's shape receives. */
interface Controller {
  pause(): void;
  resume(): void;
  abort(reason?: unknown): void;
  readonly aborted: boolean;
  readonly reason: unknown;
  readonly paused: boolean;
}

/** The handler shape undici 7 introduced. */
export interface ControllerHandler {
  onRequestStart?(controller: Controller, context: object): void;
  onResponseStart?(controller: Controller, status: number, headers: Record<string, string | string[]>, statusText: string): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: Record<string, string | string[]>): void;
  onResponseError?(controller: Controller, error: Error): void;
}

/** Raw headers (`[name, value, name, value]`, values possibly arrays) as an object, names in lower case. */
export function parseRawHeaders(raw: RawList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const v = raw[i + 1] as Raw | Raw[];
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    const had = out[name];
    if (had === undefined) out[name] = values.length === 1 ? (values[0] as string) : values;
    else out[name] = [...(Array.isArray(had) ? had : [had]), ...values];
  }
  return out;
}

/** The caller's handler, spoken to in one vocabulary; everything after the first ending is dropped. */
export class CallerSink {
  private ended = false;
  private paused = false;
  private resumeFn: (() => void) | undefined;
  private abortFn: ((reason?: unknown) => void) | undefined;
  private abortedWith: { reason: unknown } | undefined;
  private readonly controller: Controller | undefined;

  constructor(private readonly handler: LegacyHandler & ControllerHandler) {
    if (typeof handler.onRequestStart !== 'function') return;
    const sink = this;
    this.controller = {
      pause: () => void (sink.paused = true),
      resume: () => {
        if (!sink.paused) return;
        sink.paused = false;
        sink.resumeFn?.();
      },
      abort: (reason?: unknown) => {
        if (sink.abortedWith !== undefined) return;
        sink.abortedWith = { reason };
        sink.abortFn?.(reason);
      },
      get aborted() {
        return sink.abortedWith !== undefined;
      },
      get reason() {
        return sink.abortedWith?.reason ?? null;
      },
      get paused() {
        return sink.paused;
      },
    };
  }

  /** Whether the caller's handler has an `onError`/`onResponseError` (undici requires one). */
  static valid(handler: unknown): handler is LegacyHandler & ControllerHandler {
    if (typeof handler !== 'object' || handler === null) return false;
    const h = handler as Record<string, unknown>;
    return typeof h.onError === 'function' || typeof h.onResponseError === 'function';
  }

  get done(): boolean {
    return this.ended;
  }

  start(abort: (reason?: unknown) => void): void {
    this.abortFn = abort;
    if (this.controller !== undefined) this.handler.onRequestStart?.(this.controller, {});
    else this.handler.onConnect?.(abort);
  }

  /** Returns false when the caller asks for a pause; `resume` is called when it wants more. */
  headers(status: number, rawHeaders: RawList, resume: () => void, statusText: string): boolean {
    if (this.ended) return true;
    this.resumeFn = resume;
    const c = this.controller;
    if (c === undefined) {
      this.handler.onResponseStarted?.();
      return this.handler.onHeaders?.(status, rawHeaders, resume, statusText) !== false;
    }
    this.handler.onResponseStart?.(c, status, parseRawHeaders(rawHeaders), statusText);
    return !this.paused;
  }

  data(chunk: Buffer): boolean {
    if (this.ended) return true;
    const c = this.controller;
    if (c === undefined) return this.handler.onData?.(chunk) !== false;
    this.handler.onResponseData?.(c, chunk);
    return !this.paused;
  }

  complete(rawTrailers: RawList): void {
    if (this.ended) return;
    this.ended = true;
    const c = this.controller;
    if (c === undefined) this.handler.onComplete?.(rawTrailers);
    else this.handler.onResponseEnd?.(c, parseRawHeaders(rawTrailers));
  }

  error(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const e = error instanceof Error ? error : Object.assign(new Error('request aborted'), { name: 'AbortError', cause: error });
    const c = this.controller;
    if (c === undefined) this.handler.onError?.(e);
    else this.handler.onResponseError?.(c, e);
  }
}
