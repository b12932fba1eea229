import { get } from 'node:http';
import { commandLine, cores, pinned, script, Worker } from './child.js';
import { profileArgs, type BenchConfig, type Row, type SuiteResult } from './report.js';
import { median, rotate } from './stats.js';
import type { ScrapeSample } from './workers/scrape.js';

const RENDERERS = {
  prom: 'prom-client Histogram, registry.metrics()',
  kitViaRegistry: 'kit families, registry.metrics()',
  writer: 'kit families, exposition writer',
  protobuf: 'kit families with native histograms (schema 3), protobuf exposition',
} as const;
type Which = keyof typeof RENDERERS;

/** Scrapes over HTTP: the kit's handler with and without gzip, and prom-client's usual handler. */
const SCRAPES = {
  kitGzip: { side: 'kit', gzip: true, label: 'metricsHandler(), gzip' },
  kitPlain: { side: 'kit', gzip: false, label: 'metricsHandler(), no gzip' },
  prom: { side: 'prom', gzip: false, label: 'prom-client handler: res.end(await registry.metrics())' },
  nativeGzip: { side: 'native', gzip: true, label: 'metricsHandler(), protobuf with native histograms, gzip' },
  nativePlain: { side: 'native', gzip: false, label: 'metricsHandler(), protobuf with native histograms, no gzip' },
} as const;
type Side = 'kit' | 'prom' | 'native';
const SIDE_OF: Record<Which, Side> = { prom: 'prom', kitViaRegistry: 'kit', writer: 'kit', protobuf: 'native' };
/** What Prometheus sends with native histograms on. */
const PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,text/plain;version=0.0.4;q=0.5';
type Scrape = keyof typeof SCRAPES;

interface HttpSample {
  readonly ms: number;
  readonly bytes: number;
  readonly blockMs: number;
}

function fetchOnce(port: number, path: string, gzip: boolean, protobuf: boolean): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const headers: Record<string, string> = gzip ? { 'Accept-Encoding': 'gzip' } : {};
    if (protobuf) headers['Accept'] = PROTOBUF_ACCEPT;
    const req = get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => {
        const encoded = res.headers['content-encoding'] === 'gzip';
        if (res.statusCode !== 200 || encoded !== gzip) reject(new Error(`scrape ${path}: ${res.statusCode}, gzip ${encoded}`));
        else resolve({ ms: performance.now() - t0, bytes });
      });
    });
    req.on('error', reject);
  });
}

async function scrapeOnce(workers: Record<Side, Worker>, which: Scrape): Promise<HttpSample> {
  const s = SCRAPES[which];
  const worker = workers[s.side];
  await worker.request('blockStart');
  const r = await fetchOnce(Number(worker.info.port), '/metrics', s.gzip, s.side === 'native');
  const blockMs = await worker.request<number>('blockStop');
  return { ...r, blockMs };
}

function row(subject: string, metric: string, base: number[], cand: number[], target = '', met?: (c: number, ratio: number) => boolean): Row {
  const baseline = median(base);
  const candidate = median(cand);
  const ratio = candidate / baseline;
  return {
    suite: 'Scrape', subject, metric, baseline, candidate, ratio, target,
    met: met === undefined ? undefined : met(candidate, ratio), rounds: { baseline: base, candidate: cand },
  };
}

function httpRows(h: Record<Scrape, HttpSample[]>): Row[] {
  const f = (w: Scrape, g: (s: HttpSample) => number) => h[w].map(g);
  const vs = `${SCRAPES.kitGzip.label} vs ${SCRAPES.prom.label}`;
  return [
    row(vs, 'scrape total ms (request to last byte)', f('prom', (s) => s.ms), f('kitGzip', (s) => s.ms), '<= 1x', (_, r) => r <= 1),
    row(vs, 'longest event-loop block in the server, ms', f('prom', (s) => s.blockMs), f('kitGzip', (s) => s.blockMs), '<= 50 ms', (c) => c <= 50),
    row(vs, 'bytes on the wire', f('prom', (s) => s.bytes), f('kitGzip', (s) => s.bytes)),
    row(`${SCRAPES.kitPlain.label} vs ${SCRAPES.prom.label}`, 'scrape total ms (request to last byte)', f('prom', (s) => s.ms), f('kitPlain', (s) => s.ms)),
    row(`${SCRAPES.kitPlain.label} vs ${SCRAPES.prom.label}`, 'longest event-loop block in the server, ms', f('prom', (s) => s.blockMs), f('kitPlain', (s) => s.blockMs)),
    ...nativeRows(h),
  ];
}

/** 10,000 native histogram series scraped in protobuf, against prom-client's classic text scrape. */
function nativeRows(h: Record<Scrape, HttpSample[]>): Row[] {
  const f = (w: Scrape, g: (s: HttpSample) => number) => h[w].map(g);
  const rows: Row[] = [];
  for (const which of ['nativeGzip', 'nativePlain'] as const) {
    const vs = `${SCRAPES[which].label} vs ${SCRAPES.prom.label}`;
    rows.push(
      row(vs, 'scrape total ms (request to last byte)', f('prom', (s) => s.ms), f(which, (s) => s.ms)),
      row(vs, 'longest event-loop block in the server, ms', f('prom', (s) => s.blockMs), f(which, (s) => s.blockMs)),
      row(vs, 'bytes on the wire', f('prom', (s) => s.bytes), f(which, (s) => s.bytes)),
    );
  }
  return rows;
}

function renderRows(r: Record<Which, ScrapeSample[]>): Row[] {
  const f = (w: Which, g: (s: ScrapeSample) => number) => r[w].map(g);
  const vs = `${RENDERERS.writer} vs ${RENDERERS.prom}`;
  return [
    row(vs, 'in-process render ms', f('prom', (s) => s.ms), f('writer', (s) => s.ms)),
    row(vs, 'longest event-loop block during the render, ms', f('prom', (s) => s.blockMs), f('writer', (s) => s.blockMs)),
    row(`${RENDERERS.kitViaRegistry} vs ${RENDERERS.prom}`, 'in-process render ms', f('prom', (s) => s.ms), f('kitViaRegistry', (s) => s.ms)),
    row(vs, 'text bytes', f('prom', (s) => s.bytes), f('writer', (s) => s.bytes)),
    row(vs, 'gzipped bytes (zlib default level)', f('prom', (s) => s.gzipBytes), f('writer', (s) => s.gzipBytes)),
    row(`${RENDERERS.protobuf} vs ${RENDERERS.prom}`, 'in-process render ms', f('prom', (s) => s.ms), f('protobuf', (s) => s.ms)),
    row(`${RENDERERS.protobuf} vs ${RENDERERS.prom}`, 'longest event-loop block during the render, ms', f('prom', (s) => s.blockMs), f('protobuf', (s) => s.blockMs)),
  ];
}

/** 10,000 histogram series: scrape time, longest event-loop block and sizes, ours against prom-client's. */
export async function scrape(config: BenchConfig): Promise<SuiteResult> {
  const file = script('./workers/scrape.js');
  const nodeArgs = ['--expose-gc'];
  const core = cores().measured;
  const renders: Record<Which, ScrapeSample[]> = { prom: [], kitViaRegistry: [], writer: [], protobuf: [] };
  const scrapes: Record<Scrape, HttpSample[]> = { kitGzip: [], kitPlain: [], prom: [], nativeGzip: [], nativePlain: [] };
  const scrapeKeys = Object.keys(SCRAPES) as Scrape[];
  const renderKeys = Object.keys(RENDERERS) as Which[];
  const workers = {
    kit: await Worker.start(file, ['kit'], core, [...nodeArgs, ...profileArgs(config, 'scrape-kit')]),
    prom: await Worker.start(file, ['prom'], core, [...nodeArgs, ...profileArgs(config, 'scrape-prom')]),
    native: await Worker.start(file, ['native'], core, [...nodeArgs, ...profileArgs(config, 'scrape-native')]),
  };
  const render = (which: Which) => workers[SIDE_OF[which]].request<ScrapeSample>('render', { which });
  try {
    for (const which of scrapeKeys) await scrapeOnce(workers, which);
    for (const which of renderKeys) await render(which);
    for (let r = 0; r < config.rounds; r++) {
      for (const which of rotate(scrapeKeys, r)) scrapes[which].push(await scrapeOnce(workers, which));
      for (const which of rotate(renderKeys, r)) renders[which].push(await render(which));
    }
  } finally {
    await Promise.all([workers.kit.stop(), workers.prom.stop(), workers.native.stop()]);
  }
  const cmd = (side: string) => commandLine(...pinned(core, process.execPath, [...nodeArgs, file, side]));
  return {
    rows: [...httpRows(scrapes), ...renderRows(renders)],
    commands: [
      `${cmd('kit')}   # the kit's families, 10,000 series: serves metricsHandler() on 127.0.0.1, renders in-process`,
      `${cmd('prom')}   # prom-client's Histogram, 10,000 series: serves res.end(await registry.metrics()), renders in-process`,
      `${cmd('native')}   # the kit's families with native histograms on, 10,000 series: serves metricsHandler() in protobuf`,
      '# each scrape is an HTTP GET from the orchestrator on the other core; the worker reports its longest event-loop block',
    ],
    notes: [],
  };
}
