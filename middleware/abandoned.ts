import type { ServerResponse } from 'node:http';

/** The status of a response the server abandoned before its end. */
export const SERVER_ABANDONED_STATUS = 500;

/**
 * Whether a socket's error came from the connection itself: a system error of its I/O (a RST met by a read or a
 * write: `ECONNRESET`, `EPIPE`, each with its `syscall`) or the HTTP parser's (`HPE_…`, the client sent garbage).
 * An error the server's code gave the socket (`req.destroy(err)`, `socket.destroy(err)`) is neither.
 */
function fromConnection(error: unknown): boolean {
  const e = error as { syscall?: unknown; code?: unknown } | null | undefined;
  return typeof e?.syscall === 'string' || (typeof e?.code === 'string' && e.code.startsWith('HPE_'));
}

/** Whether the client is gone: it ended the socket's read side (a FIN) or the connection failed (a RST). */
export function clientLeft(res: ServerResponse): boolean {
  const socket = res.socket;
  if (socket === null) return res.errored === null || res.errored === undefined;
  if (socket.readableEnded) return true;
  const error: unknown = socket.errored;
  if (error === null || error === undefined) return false;
  // The server's own error destroys the socket with that very error (`res.destroy(err)`, a failed pipeline), or the
  // server handed the request or its socket an error of its own (`req.destroy(err)`): not the client's doing.
  return error !== res.errored && fromConnection(error);
}

/**
 * Who ended a response that closed before its last byte, from what Node exposes at its `close`:
 * - a client that went away ended the socket's read side (a FIN: `readableEnded`) or reset it (a RST, or a write
 *   that met the reset: the socket's own `errored`, which a pipeline into the response may follow with a "premature
 *   close" on the response): then `undefined`, and the recorder records 499;
 * - the server destroyed the response with an error, `res.destroy(err)` or a `stream.pipeline(body, res)` whose body
 *   failed (Koa 3 pipes every stream body so): the response's `errored` is the socket's. Then
 *   {@link SERVER_ABANDONED_STATUS}; so too when it destroyed the request or the socket with an error of its own
 *   (`req.destroy(err)`: the socket's `errored` is not a system or parser error);
 * - the server closed the connection without an error: Express's final handler destroying the socket after an error
 *   reached it mid-body, `res.destroy()`, `socket.destroy()`. Then {@link SERVER_ABANDONED_STATUS} too.
 * Read only for a response that closed unfinished; never throws.
 */
export function serverAbandonedStatus(res: ServerResponse): number | undefined {
  return clientLeft(res) ? undefined : SERVER_ABANDONED_STATUS;
}
