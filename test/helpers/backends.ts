import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What a test backend does with a request:
 * - `'ok'`: 200 with a small JSON body;
 * - `'fail'`: always `failStatus` (503 unless told);
 * - `{ failFirst: n }`: `failStatus` for the first n requests, then 200;
 * - `'reset'`: destroys the connection without answering (the client sees ECONNRESET);
 * - `'stall'`: never answers (until the backend closes), to push a client past its timeout;
 * - `{ delayMs: n }`: 200 after n milliseconds (a slow instance).
 */
export type BackendMode = 'ok' | 'fail' | 'reset' | 'stall' | { readonly failFirst: number } | { readonly delayMs: number };

export interface BackendOptions {
  /** Shown in every JSON body as `backend`, so a test can see who answered. @defaultValue `"backend"` */
  readonly name?: string;
  /** Status of the failures of `'fail'` and `failFirst`. @defaultValue 503 */
  readonly failStatus?: number;
}

/** One request as the backend saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

export interface Backend {
  readonly name: string;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order (also those reset or stalled). */
  readonly requests: SeenRequest[];
  /** The behaviour for paths outside `/_/`; changes take effect on the next request. */
  mode: BackendMode;
  close(): Promise<void>;
}

/**
 * Routes that override the mode for one request, whatever the backend's mode:
 * `/_/status/CODE`, `/_/reset`, `/_/stall`, `/_/delay/MS`, anywhere in the path (so behind a base path too, as in
 * `/base/_/status/503`); anything after them (`/_/status/503/users?x=1`) is ignored.
 */
function routeMode(url: string): { mode: BackendMode; status?: number } | undefined {
  const m = /\/_\/(status|reset|stall|delay)(?:\/(\d+))?/.exec(url);
  if (m === null) return undefined;
  const n = Number(m[2] ?? 0);
  switch (m[1]) {
    case 'status':
      return { mode: 'fail', status: n };
    case 'delay':
      return { mode: { delayMs: n } };
    default:
      return { mode: m[1] as 'reset' | 'stall' };
  }
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts one backend on 127.0.0.1, port 0. */
export async function startBackend(mode: BackendMode = 'ok', options: BackendOptions = {}): Promise<Backend> {
  const name = options.name ?? 'backend';
  const failStatus = options.failStatus ?? 503;
  const requests: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let served = 0;

  const backend = { name, url: '', port: 0, requests, mode, close: async () => {} } as Backend;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', url, headers: req.headers });
    const n = ++served;
    const route = routeMode(url);
    const m = route?.mode ?? backend.mode;
    const body = { backend: name, n };
    if (m === 'reset') {
      req.socket.destroy();
    } else if (m === 'stall') {
      // never answer; close() destroys the socket
    } else if (m === 'fail') {
      reply(res, route?.status ?? failStatus, body);
    } else if (m === 'ok') {
      reply(res, 200, body);
    } else if ('failFirst' in m) {
      reply(res, n <= m.failFirst ? failStatus : 200, body);
    } else {
      const t = setTimeout(() => {
        timers.delete(t);
        reply(res, 200, body);
      }, m.delayMs);
      timers.add(t);
    }
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return backend;
}

/** Starts several backends at once, named `a`, `b`, ... unless names are given. */
export async function startBackends(modes: readonly BackendMode[], names?: readonly string[]): Promise<Backend[]> {
  return Promise.all(modes.map((m, i) => startBackend(m, { name: names?.[i] ?? String.fromCharCode(97 + i) })));
}

/** Closes every backend given (ignores `undefined`). */
export async function closeAll(backends: readonly (Backend | undefined)[]): Promise<void> {
  await Promise.all(backends.map((b) => b?.close()));
}

/**
 * A port on 127.0.0.1 where nothing listens (bound once, then closed), for connection-refused tests; and its URL.
 */
export async function closedPort(): Promise<{ port: number; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { port, url: `http://127.0.0.1:${port}` };
}
