/** A status carried by an HTTP response or by an error that wraps one (axios's `error.response.status`). */
function statusOf(outcome: unknown): number | undefined {
  if (typeof outcome !== 'object' || outcome === null) return undefined;
  const o = outcome as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } | null };
  const candidates = [
    typeof o.response === 'object' && o.response !== null ? o.response.status : undefined,
    o.status,
    o.statusCode,
  ];
  for (const c of candidates) if (typeof c === 'number' && Number.isInteger(c)) return c;
  return undefined;
}

/** An `Error`, or an object shaped like one (`code` and `message`), such as an error from another realm. */
function isErrorLike(outcome: unknown): boolean {
  return outcome instanceof Error || (typeof outcome === 'object' && outcome !== null && 'code' in outcome && 'message' in outcome);
}

/**
 * Whether an error carrying `status` is the request's own `validateStatus` refusing that status (axios's "Request
 * failed with status code 304", `ERR_BAD_RESPONSE` for a 3xx): the answer arrived whole, nothing was cut. Read from
 * the error's `config.validateStatus`; never throws.
 * @internal
 */
export function refusedStatus(outcome: unknown, status: number): boolean {
  try {
    const config = (outcome as { config?: { validateStatus?: unknown } | null }).config;
    const validate = typeof config === 'object' && config !== null ? config.validateStatus : undefined;
    return typeof validate === 'function' && !(validate as (s: number) => unknown)(status);
  } catch {
    return false;
  }
}

/**
 * Whether `outcome` is an error that carries a status below 400 that the request accepted: the server's answer began
 * (a 2xx or 3xx head) but the call still failed, for example a body cut by a connection reset (axios rejects with
 * `ERR_BAD_RESPONSE`, "stream has been aborted", and the 200 attached) or a body that could not be decoded. Such a
 * call rejected, so it is never a successful one: the kit counts it as a failure whatever `isFailure` says, and
 * `meshPolicy` retries it. A status the request's `validateStatus` refused (a `304` under axios's default) is a
 * whole answer, not a broken one: `isFailure` decides it, as for a 4xx.
 */
export function isBrokenResponse(outcome: unknown): boolean {
  const status = statusOf(outcome);
  return status !== undefined && status < 400 && isErrorLike(outcome) && !refusedStatus(outcome, status);
}

/**
 * The kit's default idea of a failed call, shared by the axios interceptors and `meshPolicy`: an outcome that carries
 * an HTTP status is a failure when the status is 5xx (so 4xx responses, errors wrapping them, and a 2xx/3xx that the
 * request's `validateStatus` refused, are successful calls), or when it is a broken response (the answer was cut or
 * unreadable, see {@link isBrokenResponse}); an `Error` without a status (network errors, timeouts, a broken circuit)
 * is a failure; any other value is a success.
 */
export function defaultIsFailure(outcome: unknown): boolean {
  const status = statusOf(outcome);
  if (status !== undefined) return status >= 500 || isBrokenResponse(outcome);
  return isErrorLike(outcome);
}
