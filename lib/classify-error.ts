import { refusedStatus } from './failure.js';

/** The fixed vocabulary of `error_type` label values that {@link classifyError} produces for errors. */
export const ERROR_TYPES = Object.freeze([
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns',
  'cancelled',
  'circuit_open',
  'bulkhead_rejected',
  'http_4xx',
  'http_5xx',
  'other',
] as const);

export type ErrorType = (typeof ERROR_TYPES)[number];

const VOCABULARY = new Set<string>(ERROR_TYPES);

const BY_CODE: Readonly<Record<string, ErrorType>> = {
  ETIMEDOUT: 'timeout',
  ECONNABORTED: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ERR_CANCELED: 'cancelled',
  ABORT_ERR: 'cancelled',
};

const BY_NAME: Readonly<Record<string, ErrorType>> = {
  AbortError: 'cancelled',
  CanceledError: 'cancelled',
  TimeoutError: 'timeout',
};

/** The longest error type a free-form string is normalised to. */
export const MAX_ERROR_TYPE_LENGTH = 64;

/** Normalises a caller's own error type to `[a-z0-9_]`, at most 64 characters; vocabulary words are kept. */
function normaliseString(text: string): string {
  if (VOCABULARY.has(text)) return text;
  const clean = text
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_ERROR_TYPE_LENGTH);
  return clean === '' ? 'other' : clean;
}

function fromStatus(status: unknown): ErrorType | undefined {
  if (typeof status !== 'number' || !Number.isInteger(status)) return undefined;
  if (status >= 500 && status <= 599) return 'http_5xx';
  if (status >= 400 && status <= 499) return 'http_4xx';
  return undefined;
}

/**
 * axios's `ERR_BAD_RESPONSE` with a non-error response attached that the request accepted: the head arrived and the
 * connection went away before the body's end ("stream has been aborted"). Its other `ERR_BAD_RESPONSE`s carry a 5xx,
 * no response, or a 3xx its `validateStatus` refused (a whole answer, such as a `304`).
 */
function bodyCut(e: ErrorLike, response: unknown): boolean {
  const status = typeof response === 'object' && response !== null ? (response as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status < 400 && !refusedStatus(e, status);
}

type ErrorLike = Record<string, unknown> & {
  code?: unknown;
  name?: unknown;
  status?: unknown;
  statusCode?: unknown;
  response?: { status?: unknown } | null;
  cause?: unknown;
};

/** cockatiel marks its errors with fields; checking the fields works across copies of the package. */
function fromCockatiel(e: ErrorLike): ErrorType | undefined {
  if ('isBrokenCircuitError' in e || 'isIsolatedCircuitError' in e || 'isHydratingCircuitError' in e) {
    return 'circuit_open';
  }
  if ('isBulkheadRejectedError' in e) return 'bulkhead_rejected';
  if ('isTaskCancelledError' in e) return 'timeout';
  return undefined;
}

function fromObject(e: ErrorLike, depth: number): ErrorType | undefined {
  const byMarker = fromCockatiel(e);
  if (byMarker !== undefined) return byMarker;
  if (typeof e.code === 'string' && BY_CODE[e.code] !== undefined) return BY_CODE[e.code];
  const response = e.response;
  if (e.code === 'ERR_BAD_RESPONSE' && bodyCut(e, response)) return 'connection_reset';
  const byStatus =
    fromStatus(typeof response === 'object' && response !== null ? response.status : undefined) ??
    fromStatus(e.status) ??
    fromStatus(e.statusCode);
  if (byStatus !== undefined) return byStatus;
  if (typeof e.name === 'string' && BY_NAME[e.name] !== undefined) return BY_NAME[e.name];
  const cause = e.cause;
  if (depth < 4 && typeof cause === 'object' && cause !== null) return fromObject(cause as ErrorLike, depth + 1);
  return undefined;
}

/**
 * Maps an error, an HTTP status or a caller's string to an `error_type` label value: Node and undici error codes,
 * cockatiel's errors, and HTTP statuses (`response.status`, `status`, `statusCode`) give a word of
 * {@link ERROR_TYPES}; a string that is such a word stays; any other string is normalised to `[a-z0-9_]`
 * (64 characters at most). Error messages are never used. Never throws.
 */
export function classifyError(error: unknown): string {
  try {
    if (typeof error === 'string') return normaliseString(error);
    if (typeof error === 'number') return fromStatus(error) ?? 'other';
    if (typeof error === 'object' && error !== null) return fromObject(error as ErrorLike, 0) ?? 'other';
    return 'other';
  } catch {
    return 'other';
  }
}
