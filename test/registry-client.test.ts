import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The kit's default registry, in user projects of their own (the built package, as npm test builds it, and only
 * the clients each project lists in its node_modules, copied from ours): which global `register` the families
 * land in, the warning when both clients are loaded, and the Error when neither is installed.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Our top-level node_modules, where npm hoists every package these projects need. */
const MODULES = join(ROOT, 'node_modules');

function installed(name: string): boolean {
  return existsSync(join(MODULES, name, 'package.json'));
}

/** Copies a package of our node_modules, and the packages it depends on, into `modules`. */
function copyPackage(name: string, modules: string): void {
  const target = join(modules, name);
  if (existsSync(target)) return;
  const manifest = join(MODULES, name, 'package.json');
  mkdirSync(dirname(target), { recursive: true });
  cpSync(dirname(manifest), target, { recursive: true, dereference: true });
  const deps = (JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies;
  for (const dep of Object.keys(deps ?? {})) copyPackage(dep, modules);
}

const projects: string[] = [];

/** A user's project holding the built mesh-metrics (with its dependencies) and exactly `clients`. */
function project(clients: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-metrics-client-'));
  projects.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
  const kit = join(dir, 'node_modules', 'mesh-metrics');
  mkdirSync(kit, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(kit, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(kit, 'dist'), { recursive: true });
  // the kit's own dependencies, as npm would install them next to it
  const own = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> })
    .dependencies;
  for (const dep of Object.keys(own ?? {})) copyPackage(dep, join(dir, 'node_modules'));
  for (const c of clients) copyPackage(c, join(dir, 'node_modules'));
  return dir;
}

/** The environment without the suite's MESH_METRICS_CLIENT (set by test/helpers/client.ts), plus `extra`. */
function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (extra.MESH_METRICS_CLIENT === undefined) delete env.MESH_METRICS_CLIENT;
  return env;
}

function run(
  dir: string,
  code: string,
  extra: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: environment(extra),
  });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

const CALL = 'mesh_calls_total{service="users",operation="get_user",status="success"} 1';
const POOL = 'mesh_lb_active_connections{service="users",instance="http://10.0.0.1:80"} 2';

/** Records with no `registry` passed, then prints what the named client's global register shows of it. */
function recordAndShow(imports: string, show: string): string {
  return `${imports}
    import { LoadBalancerMetrics, ServiceMeshMetrics } from 'mesh-metrics';
    new ServiceMeshMetrics().recordCallSuccess('users', 'get_user', 0.1);
    new LoadBalancerMetrics().updateActiveConnections('users', 'http://10.0.0.1:80', 2);
    const text = await ${show}.metrics();
    console.log(text.split('\\n').filter((l) => l.startsWith('mesh_calls_total{') || l.startsWith('mesh_lb_active_connections{')).join('\\n'));`;
}

describe('the default registry client, in a project of its own', function () {
  // tsc over the kit's declarations takes a few seconds, more on a busy machine.
  this.timeout(90_000);

  after(() => {
    for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  });

  it('with neither client installed, the import works and the first construction throws an Error naming both', () => {
    const dir = project([]);
    const r = run(
      dir,
      `import { ServiceMeshMetrics } from 'mesh-metrics';
       try { new ServiceMeshMetrics(); console.log('constructed'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
    );
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(
      'Error: mesh-metrics needs a Prometheus registry client, and neither prom-client nor @prometheus-io/client is ' +
        'installed: run `npm install prom-client` (^15, Node 20 and later) or `npm install @prometheus-io/client` ' +
        '(^0.16, Node 22 and later)',
    );
  });

  it("with only prom-client installed, the families are on prom-client's global register", () => {
    const dir = project(['prom-client']);
    const r = run(dir, recordAndShow(`import { register } from 'prom-client';`, 'register'));
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(`${CALL}\n${POOL}`);
  });

  // @prometheus-io/client needs Node 22 or later: .ci/run installs it for the Node 22 and 24 runs only.
  if (!installed('@prometheus-io/client')) return;

  it("with only @prometheus-io/client installed (no prom-client in the tree), the families are on its global register", () => {
    const dir = project(['@prometheus-io/client']);
    const r = run(
      dir,
      `${recordAndShow(`import { register } from '@prometheus-io/client';`, 'register')}
              try { createRequire(import.meta.url).resolve('prom-client'); console.log('prom-client found'); } catch { console.log('no prom-client'); }`,
    );
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(`${CALL}\n${POOL}\nno prom-client`);
  });

  it("type-checks a TypeScript project with only @prometheus-io/client that passes its registries everywhere", () => {
    const dir = project(['@prometheus-io/client', '@types/node', 'axios']);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', noEmit: true, types: ['node'] },
        files: ['app.ts'],
      }),
    );
    writeFileSync(
      join(dir, 'app.ts'),
      `import { Registry, register } from '@prometheus-io/client';
       import { ServiceMeshMetrics, clusterWorkerMetrics, exemplarTraceReader, koaMetricsHandler, meshMetrics,
         metricsHandler, pushMetrics, serveMetrics, threadMetricsHandler } from 'mesh-metrics';
       const registry = new Registry();
       registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
       new ServiceMeshMetrics({ registry });
       new ServiceMeshMetrics({ registry: register });
       meshMetrics({ registry });
       metricsHandler({ registry });
       koaMetricsHandler({ registry });
       void serveMetrics({ registry, port: 0 }).close();
       exemplarTraceReader(registry);
       threadMetricsHandler({ registry: [register] });
       clusterWorkerMetrics({ registry: [register] });
       void pushMetrics({ url: 'http://127.0.0.1:9091', job: 'batch', registry: register });
       // @ts-expect-error a registry is not a string
       new ServiceMeshMetrics({ registry: 'register' });
      `,
    );
    const tsc = spawnSync(process.execPath, [join(MODULES, 'typescript', 'bin', 'tsc'), '-p', dir], {
      encoding: 'utf8',
      env: environment(),
    });
    expect(tsc.stdout + tsc.stderr).to.equal('');
    expect(tsc.status).to.equal(0);
  });

  it('with both installed, the families go to the client the application has loaded, without a warning', () => {
    const dir = project(['prom-client', '@prometheus-io/client']);
    const next = run(
      dir,
      `${recordAndShow(`import { register } from '@prometheus-io/client';`, 'register')}
       const old = await import('prom-client');
       console.log('prom-client has ' + (await old.register.getMetricsAsJSON()).length + ' families');`,
    );
    expect(next.stderr).to.equal('');
    expect(next.stdout).to.equal(`${CALL}\n${POOL}\nprom-client has 0 families`);
    const old = run(dir, recordAndShow(`import { register } from 'prom-client';`, 'register'));
    expect(old.stderr).to.equal('');
    expect(old.stdout).to.equal(`${CALL}\n${POOL}`);
  });

  it('with both loaded, a registry of either package passed as `registry` gets the families, with no warning', () => {
    const dir = project(['prom-client', '@prometheus-io/client']);
    const r = run(
      dir,
      `import { Registry as Old } from 'prom-client';
       import { Registry as Next } from '@prometheus-io/client';
       import { clusterWorkerMetrics, ServiceMeshMetrics } from 'mesh-metrics';
       const old = new Old();
       const next = new Next();
       new ServiceMeshMetrics({ registry: old }).recordCallSuccess('users', 'get_user', 0.1);
       new ServiceMeshMetrics({ registry: next }).recordCallSuccess('users', 'get_user', 0.1);
       for (const reg of [old, next]) console.log((await reg.metrics()).split('\\n').find((l) => l.startsWith('mesh_calls_total{')));
       try { clusterWorkerMetrics({ registry: [old, next] }); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
    );
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(
      `${CALL}
${CALL}
TypeError: registry: every registry must come from one client, got prom-client and @prometheus-io/client`,
    );
  });

  it("with both loaded, the families go to @prometheus-io/client's register and one warning says so", () => {
    const dir = project(['prom-client', '@prometheus-io/client']);
    const r = run(
      dir,
      recordAndShow(`import 'prom-client'; import { register } from '@prometheus-io/client';`, 'register'),
    );
    expect(r.stdout).to.equal(`${CALL}\n${POOL}`);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('MESH_METRICS_TWO_CLIENTS'));
    expect(warnings).to.deep.equal([
      `(node:${warnings[0]?.match(/\(node:(\d+)\)/)?.[1]}) [MESH_METRICS_TWO_CLIENTS] Warning: mesh-metrics: both ` +
        "prom-client and @prometheus-io/client are loaded; the kit's metrics go to @prometheus-io/client's global " +
        'register. Pass `registry` or set MESH_METRICS_CLIENT to choose, or remove the other package.',
    ]);
  });

  it('MESH_METRICS_CLIENT names the default client outright, with no warning; a bad value is an Error naming it', () => {
    const dir = project(['prom-client', '@prometheus-io/client']);
    const both = `import 'prom-client'; import '@prometheus-io/client';`;
    const old = run(dir, recordAndShow(`${both} import { register } from 'prom-client';`, 'register'), {
      MESH_METRICS_CLIENT: 'prom-client',
    });
    expect(old.stderr).to.equal('');
    expect(old.stdout).to.equal(`${CALL}\n${POOL}`);
    const bad = run(
      dir,
      `import { ServiceMeshMetrics } from 'mesh-metrics';
       try { new ServiceMeshMetrics(); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
      { MESH_METRICS_CLIENT: 'prom_client' },
    );
    expect(bad.stdout).to.equal('Error: MESH_METRICS_CLIENT must be prom-client or @prometheus-io/client, got "prom_client"');
    const only = project(['prom-client']);
    const missing = run(
      only,
      `import { ServiceMeshMetrics } from 'mesh-metrics';
       try { new ServiceMeshMetrics(); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
      { MESH_METRICS_CLIENT: '@prometheus-io/client' },
    );
    expect(missing.stdout).to.equal(
      'Error: MESH_METRICS_CLIENT names @prometheus-io/client, which is not installed: run `npm install @prometheus-io/client`',
    );
  });
});
