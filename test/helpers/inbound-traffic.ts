import { Agent, createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Registry } from './client.js';

/** A server listening on a free loopback port. */
export interface Listening {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** What to do with each server {@link listen} creates for a listener, before it listens (a test mode's setup). */
export const onServe = new WeakMap<object, ((server: Server) => void)[]>();

/** Serves a request listener (an Express app, a Koa `app.callback()`) on 127.0.0.1 and a free port. */
export async function listen(listener: RequestListener): Promise<Listening> {
  const server = createServer(listener);
  for (const setup of onServe.get(listener) ?? []) setup(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Sends a GET over a raw socket, waits for the first bytes of the response, then closes the socket: a client that
 * goes away mid-response.
 */
export function abortMidResponse(port: number, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

/** Sends a GET over a raw socket and half-closes it at once: a client gone before any response. */
export function leaveEarly(port: number, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.resume();
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

/** Runs the tasks with at most `width` in flight at once. */
export async function inBatches(tasks: readonly (() => Promise<unknown>)[], width: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await (tasks[next++] as () => Promise<unknown>)();
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Every `_count` sample of a histogram, keyed by its label text as exposed (`{a="1",b="2"}`). */
export function countsOf(text: string, histogram: string): Map<string, number> {
  const out = new Map<string, number>();
  const head = `${histogram}_count`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(head + '{')) continue;
    const end = line.lastIndexOf('} ');
    out.set(line.slice(head.length, end + 1), Number(line.slice(end + 2)));
  }
  return out;
}

/** The label text of one inbound series, in exposition order. */
export function inboundKey(service: string, method: string, route: string, status: number): string {
  return `{service="${service}",method="${method}",route="${route}",status_code="${status}"}`;
}

/** Waits (polling the registry) until `done(text)` holds; fails after `ms`. */
export async function until(registry: Registry, done: (text: string) => boolean, ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await registry.metrics();
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms; last exposition:\n${text}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A response read in full. */
export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive client for bulk traffic to one server (supertest opens a connection per request). */
export interface BulkClient {
  send(method: string, path: string): Promise<Reply>;
  close(): void;
}

/** A {@link BulkClient} for `base` (`http://127.0.0.1:port`). */
export function bulkClient(base: string): BulkClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    send: (method, path) =>
      new Promise<Reply>((resolve, reject) => {
        const req = httpRequest(base + path, { method, agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      }),
    close: () => agent.destroy(),
  };
}
