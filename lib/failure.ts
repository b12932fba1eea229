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

/**
 * The kit's default idea of a failed call, shared by the axios interceptors and `meshPolicy`: an outcome that carries
 * an HTTP status is a failure when the status is 5xx (so 4xx responses, and errors wrapping them, are successful
 * calls); an `Error` without a status (network errors, timeouts, a broken circuit) is a failure; any other value is
 * a success.
 */
export function defaultIsFailure(outcome: unknown): boolean {
  const status = statusOf(outcome);
  if (status !== undefined) return status >= 500;
  return outcome instanceof Error || (typeof outcome === 'object' && outcome !== null && 'code' in outcome && 'message' in outcome);
}
