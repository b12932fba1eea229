import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { MetricsRegistry as Registry } from '../lib/metrics-registry.js';
import { describeValue, resolveMetricsOptions } from '../lib/options.js';
import { openMetricsToText } from '../lib/openmetrics-text.js';
import { renderMetrics, renderMetricsGzipped, renderMetricsPieces } from '../lib/render.js';
import { checkProtobufMode, protobufBody, servesProtobuf } from './protobuf-scrape.js';

const gzipAsync = promisify(gzip);

/** Options of every scrape handler: `metricsHandler()`, `koaMetricsHandler()` and `serveMetrics()`. */
export interface ScrapeOptions {
  /**
   * The registry to expose. A registry set to OpenMetrics (`registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)`)
   * answers OpenMetrics, exemplars included, to scrapes that ask for `application/openmetrics-text` (Prometheus does)
   * and the text format 0.0.4 to the others; a text registry answers text. Either answers the delimited protobuf
   * format (native histograms included) to a scrape that prefers it, as `protobuf` says.
   * @defaultValue the default client's global `register` (see the README's "Requirements")
   */
  readonly registry?: Registry;
  /**
   * When set, a scrape must send `Authorization: Bearer <token>`; any other gets `401` with
   * `WWW-Authenticate: Bearer`. Compared in constant time.
   * @defaultValue none: no token needed
   */
  readonly bearerToken?: string;
  /**
   * A custom check run on every scrape (after the token, when both are set); `false` (or a promise of it) answers
   * `403`, a throw or rejection answers `500`.
   * @defaultValue none: every scrape is allowed
   */
  readonly authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Gzip the body when the scrape accepts it (Prometheus always does).
   * @defaultValue true
   */
  readonly compress?: boolean;
  /**
   * When a scrape that prefers the delimited protobuf format (Prometheus with native histograms on) gets it: `"auto"`
   * while the registry holds a histogram family with `nativeHistograms` on, `true` always, `false` never (such
   * scrapes then get OpenMetrics or text as any other). Without native histograms protobuf carries nothing more, and
   * Prometheus 2.x would label classic buckets `le="1.0"` instead of the text format's `le="1"`.
   * @defaultValue `"auto"`
   */
  readonly protobuf?: boolean | 'auto';
}

/** One scrape's answer, independent of the framework that sends it. */
export interface ScrapeReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Pieces (a scrape without gzip) are served one after another, with backpressure. */
  readonly body: string | Buffer | readonly Buffer[];
}

/** Answers one scrape; never rejects. */
export type Scraper = (req: IncomingMessage) => Promise<ScrapeReply>;

const TEXT = 'text/plain; charset=utf-8';
/** The media type of OpenMetrics; prom-client's content type for it adds the version and charset. */
const OPENMETRICS_TYPE = 'application/openmetrics-text';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';
const BEARER = /^bearer[ \t]+/i;
const TOKEN = /^[\x21-\x7e]+$/;

function plain(status: number, message: string, extra: Record<string, string> = {}): ScrapeReply {
  return { status, headers: { 'Content-Type': TEXT, 'Cache-Control': 'no-store', ...extra }, body: `${message}\n` };
}

const UNAUTHORIZED = plain(401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
const FORBIDDEN = plain(403, 'Forbidden');
const AUTHORIZE_FAILED = plain(500, 'mesh-metrics: the authorize check failed');
const COLLECT_FAILED = plain(500, 'mesh-metrics: collecting metrics failed');

/** Whether `Accept` lists `application/openmetrics-text` (with a q above 0): the scrape asks for OpenMetrics. */
export function acceptsOpenMetrics(headers: IncomingHttpHeaders): boolean {
  const header = headers.accept;
  if (typeof header !== 'string') return false;
  for (const part of header.split(',')) {
    const [type = '', ...params] = part.split(';');
    if (type.trim().toLowerCase() !== OPENMETRICS_TYPE) continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Whether `Accept-Encoding` admits gzip (a `gzip` or `*` coding whose q is not 0). */
export function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  const header = headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';');
    const name = coding.trim().toLowerCase();
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A constant-time check of `Authorization: Bearer <token>` against one expected token. */
function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = sha256(token);
  return (header) => {
    if (typeof header !== 'string') return false;
    const scheme = BEARER.exec(header);
    if (scheme === null) return false;
    // Equal-length digests, so the comparison time says nothing about the token.
    return timingSafeEqual(sha256(header.slice(scheme[0].length).trim()), expected);
  };
}

function checkOptions(options: ScrapeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const { bearerToken, authorize, compress } = options;
  if (bearerToken !== undefined && (typeof bearerToken !== 'string' || !TOKEN.test(bearerToken))) {
    throw new TypeError(`bearerToken must be a non-empty string without spaces, got ${describeValue(bearerToken)}`);
  }
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new TypeError(`authorize must be a function, got ${describeValue(authorize)}`);
  }
  if (compress !== undefined && typeof compress !== 'boolean') {
    throw new TypeError(`compress must be a boolean, got ${describeValue(compress)}`);
  }
}

/** Checks a scrape path option. */
export function checkScrapePath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`path must be a string starting with "/", got ${describeValue(path)}`);
  }
  return path;
}

/** Builds the framework-independent scrape: auth, render, gzip, and short plain-text errors. */
export function createScraper(options: ScrapeOptions = {}): Scraper {
  checkOptions(options);
  // Checked like every registry option; a registry of either format is served.
  const registry = resolveMetricsOptions({ registry: options.registry }).registry as Registry;
  const tokenOk = options.bearerToken === undefined ? null : bearerCheck(options.bearerToken);
  const authorize = options.authorize ?? null;
  const compress = options.compress ?? true;
  const protobuf = checkProtobufMode(options.protobuf);

  return async (req) => {
    if (tokenOk !== null && !tokenOk(req.headers.authorization)) return UNAUTHORIZED;
    if (authorize !== null) {
      try {
        if ((await authorize(req)) !== true) return FORBIDDEN;
      } catch {
        return AUTHORIZE_FAILED;
      }
    }
    // Prometheus asks for protobuf when its native histograms are on: the only format that carries them.
    if (servesProtobuf(protobuf, registry, req.headers)) {
      try {
        return { status: 200, ...(await protobufBody(registry, compress && acceptsGzip(req.headers), compress)) };
      } catch {
        return COLLECT_FAILED;
      }
    }
    // An OpenMetrics registry answers a scrape that did not ask for OpenMetrics (curl, text-only scrapers) in text.
    if ((registry.contentType as string) === OPENMETRICS && !acceptsOpenMetrics(req.headers)) {
      return textFromOpenMetrics(registry, compress && acceptsGzip(req.headers), compress);
    }
    // Gzip while rendering (renderMetricsGzipped): compressing the finished text in one go blocked the event loop
    // for over 100 ms on a 10,000-series scrape (see BENCHMARKS.md).
    const gzipped = compress && acceptsGzip(req.headers);
    let body: Buffer | readonly Buffer[];
    let contentType: string;
    try {
      ({ body, contentType } = gzipped ? await renderMetricsGzipped(registry) : await renderMetricsPieces(registry));
    } catch {
      return COLLECT_FAILED;
    }
    const headers: Record<string, string> = { 'Content-Type': contentType, 'Cache-Control': 'no-store' };
    // A registry may answer protobuf to a scrape that asks for it, so the format always depends on Accept.
    headers['Vary'] = compress ? 'Accept, Accept-Encoding' : 'Accept';
    if (!gzipped) return { status: 200, headers, body };
    return { status: 200, headers: { ...headers, 'Content-Encoding': 'gzip' }, body };
  };
}

/** The text format 0.0.4 rendering of an OpenMetrics registry. */
async function textFromOpenMetrics(
  registry: Registry,
  gzipped: boolean,
  compress: boolean,
): Promise<ScrapeReply> {
  let body: string;
  try {
    body = openMetricsToText((await renderMetrics(registry)).body);
  } catch {
    return COLLECT_FAILED;
  }
  const headers: Record<string, string> = {
    'Content-Type': TEXT_FORMAT,
    'Cache-Control': 'no-store',
    Vary: compress ? 'Accept, Accept-Encoding' : 'Accept',
  };
  if (!gzipped) return { status: 200, headers, body };
  try {
    return { status: 200, headers: { ...headers, 'Content-Encoding': 'gzip' }, body: await gzipAsync(body) };
  } catch {
    return { status: 200, headers, body };
  }
}

/** Writes a reply with Node's own response API (works under Express 4 and 5 and a bare `http.Server`). */
export function sendReply(req: IncomingMessage, res: ServerResponse, reply: ScrapeReply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = reply.body;
  if (!isPieces(body)) {
    res.writeHead(reply.status, reply.headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(piecesLength(body)) });
  if (req.method === 'HEAD') res.end();
  else replyStream(body).pipe(res);
}

/** Whether a reply body is a list of pieces. */
export function isPieces(body: ScrapeReply['body']): body is readonly Buffer[] {
  return Array.isArray(body);
}

/** The bytes of a body given as pieces. */
export function piecesLength(pieces: readonly Buffer[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

/** A stream of a body's pieces, for a response (or Koa's `ctx.body`) to pipe with backpressure. */
export function replyStream(pieces: readonly Buffer[]): Readable {
  return Readable.from(pieces, { objectMode: false });
}

/** Answers 500 after an unexpected fault, if the response can still be answered. */
export function sendInternalError(res: ServerResponse): void {
  try {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': TEXT });
    res.end('mesh-metrics: internal error\n');
  } catch {
    res.destroy();
  }
}
