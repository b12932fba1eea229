import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeValue, resolveMetricsOptions } from '../lib/options.js';
import { SelfMetrics } from '../lib/self-metrics.js';
import { checkScrapePath, createScraper, sendInternalError, sendReply, type ScrapeOptions } from './scrape.js';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions extends ScrapeOptions {
  /** The port to listen on; `0` picks a free one (read it from `listening`). */
  readonly port: number;
  /**
   * The interface to listen on.
   * @defaultValue every interface, as `server.listen()` does
   */
  readonly host?: string;
  /**
   * The scrape path; any other path gets `404`.
   * @defaultValue `"/metrics"`
   */
  readonly path?: string;
}

/** Where a {@link serveMetrics} server listens. */
export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
  /**
   * The scrape URL, e.g. `http://127.0.0.1:9464/metrics`; on every interface (no `host`), the loopback address, never
   * `[::]` (`host` still says `::`).
   */
  readonly url: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The underlying Node server. */
  readonly server: Server;
  /**
   * Resolves once listening; rejects when the port cannot be bound (an `Error` naming the host and port, with the
   * system error's `code` and the error itself as its `cause`). Not awaiting it is safe: the failure is then only visible here.
   */
  readonly listening: Promise<MetricsAddress>;
  /** Stops listening and closes open connections; resolves when the server is closed. */
  close(): Promise<void>;
}

function checkServeOptions(options: ServeMetricsOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object with a port, got ${describeValue(options)}`);
  }
  const { port, host } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError(`host must be a non-empty string, got ${describeValue(host)}`);
  }
}

/**
 * Where the server listens, and a URL a user can open: a server on every interface (`::` or `0.0.0.0`, the default
 * without `host`) is reached on this machine through the IPv4 loopback, as `::` is dual-stack here (the server never
 * sets `ipv6Only`); `[::]` or `0.0.0.0` in a URL is not an address to connect to.
 */
function addressOf(server: Server, path: string): MetricsAddress {
  const a = server.address() as AddressInfo;
  const unspecified = a.address === '::' || a.address === '0.0.0.0';
  const host = unspecified ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { host: a.address, port: a.port, url: `http://${host}:${a.port}${path}` };
}

/**
 * Listens and keeps one 'error' listener for the server's life: before listening an error rejects the promise (with
 * a message naming where), after it a fault is counted as `kind="internal"` instead of ending the process.
 */
function startListening(server: Server, options: ServeMetricsOptions, path: string): Promise<MetricsAddress> {
  const resolved = resolveMetricsOptions({ registry: options.registry });
  let started = false;
  const listening = new Promise<MetricsAddress>((resolve, reject) => {
    // Kept for the server's life: a fault after listening is counted, never an unhandled 'error' that ends the app.
    server.on('error', (error: Error) => {
      if (started) {
        new SelfMetrics(resolved).internal(); // rare: the families are made only when it happens
        return;
      }
      started = true;
      const where = `${options.host ?? 'every interface'} port ${options.port}`;
      const code = (error as NodeJS.ErrnoException).code;
      reject(Object.assign(new Error(`serveMetrics could not listen on ${where}: ${error.message}`, { cause: error }), { code }));
    });
    server.listen(options.port, options.host, () => {
      started = true;
      resolve(addressOf(server, path));
    });
  });
  // A caller that never awaits `listening` must not get an unhandled rejection; one that does still sees it.
  listening.catch(() => undefined);
  return listening;
}

/**
 * A separate small HTTP server for the scrape, on its own `port` (and `host`), so metrics stay off the public port.
 * Same format, gzip, auth and error handling as `metricsHandler()`.
 */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  checkServeOptions(options);
  const path = checkScrapePath(options.path ?? '/metrics');
  const scrape = createScraper(options);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    scrape(req).then(
      (reply) => sendReply(req, res, reply),
      () => sendInternalError(res),
    );
  });
  const listening = startListening(server, options, path);
  return {
    server,
    listening,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
