// `npm start`: the demo mesh with its live view. `npm start -- --help` lists the options.
import { scrape } from '../../cli/snapshot.js';
import { startDemo, type Demo } from './demo.js';
import { DEMO_USAGE, parseDemoArgs, type DemoOptions } from './options.js';
import { createDemoView, stdoutTerminal } from './view.js';

/** Totals read from the gateway's /metrics, for the closing summary. */
async function totals(demo: Demo): Promise<{ calls: number; retries: number; instances: number }> {
  const s = await scrape(demo.gateway.metricsUrl, Date.now(), 2_000);
  const sum = (name: string): number =>
    [...s.series.values()].filter((x) => x.name === name && x.labels.service === 'users').reduce((a, x) => a + x.value, 0);
  const instances = new Set(
    [...s.series.values()].filter((x) => x.name === 'mesh_lb_requests_total' && x.value > 0).map((x) => x.labels.instance),
  );
  return { calls: sum('mesh_calls_total'), retries: sum('mesh_retry_attempts_total'), instances: instances.size };
}

function header(demo: Demo, o: DemoOptions): string {
  const u = demo.users.map((x) => `${x.url} (${x.behaviour})`).join(', ');
  const outage = `${demo.users[2]?.url} is down from ${o.outage.startSeconds}s to ${o.outage.startSeconds + o.outage.lengthSeconds}s of every ${o.outage.periodSeconds}s`;
  return `mesh-metrics demo: gateway ${demo.gateway.url} (/api/users/:id, /api/orders) -> users ${u}\n${outage}\n` +
    `metrics: ${demo.metricsUrls.join(' ')}\n` +
    `the same view from another terminal: npm run stat -- --by-instance ${demo.metricsUrls.join(' ')}\n`;
}

/** Runs the demo until Ctrl-C or `--duration`; resolves to the exit code. */
export async function runDemo(argv: readonly string[], write = (t: string) => void process.stdout.write(t)): Promise<number> {
  let options: DemoOptions | 'help';
  try {
    options = parseDemoArgs(argv);
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n\n${DEMO_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    write(DEMO_USAGE);
    return 0;
  }
  let demo: Demo;
  try {
    demo = await startDemo(options);
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    return 1;
  }
  const o = options;
  write(header(demo, o));
  const started = Date.now();
  const view = o.refreshSeconds > 0 ? createDemoView(demo, write, stdoutTerminal()) : undefined;
  await view?.refresh(); // the first scrape: rates start with the next one
  const done = new Promise<string>((resolve) => {
    const refresh = view ? setInterval(() => void view.refresh(), o.refreshSeconds * 1000) : undefined;
    const end = (why: string): void => {
      if (refresh) clearInterval(refresh);
      clearTimeout(limit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(why);
    };
    const onSignal = (): void => end('interrupted');
    const limit = o.durationSeconds === undefined ? undefined : setTimeout(() => end('duration reached'), o.durationSeconds * 1000);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const why = await done;
  if (view) await view.refresh();
  const t = await totals(demo);
  await demo.stop();
  const e = demo.events;
  write(
    `demo stopped (${why}) after ${((Date.now() - started) / 1000).toFixed(1)} s: ${t.calls} calls to users over ` +
      `${t.instances} instances, ${t.retries} retries, ${e.ejections} outlier ejections, ${e.circuitOpens} circuit opens\n`,
  );
  return 0;
}

process.exitCode = await runDemo(process.argv.slice(2));
