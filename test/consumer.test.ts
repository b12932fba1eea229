import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { CLIENT_NAME } from './helpers/client.js';
import { compileBlocks, readmeTsBlocks, writeBlocks, type ReadmeBlock } from './helpers/readme-blocks.js';

// The package as a user receives it: the packed tarball (npm test builds dist/ first) installed into fresh projects
// outside the repository, where the README's ts blocks are compiled against the shipped declarations and the
// runnable ones run. The peers are installed from this repository's node_modules (linked, offline), so the test
// needs no network.
const repo = fileURLToPath(new URL('..', import.meta.url));
const modules = join(repo, 'node_modules');
/** prom-client (README blocks import it), and the client under test when it is the other one (MESH_METRICS_CLIENT). */
const CLIENTS = CLIENT_NAME === 'prom-client' ? ['prom-client'] : ['prom-client', CLIENT_NAME];

/**
 * The package's own dependencies (protobufjs), installed from this repository's node_modules like the peers: with
 * `--offline` npm would otherwise look their metadata up in its cache, which a fresh machine's `npm ci` leaves empty.
 */
const RUNTIME_DEPENDENCIES = Object.keys(
  (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {},
);

function sh(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A fresh project in `dir` with the tarball, its dependencies and the given packages of this repository installed. */
function install(dir: string, tarball: string, packages: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const args = ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];
  sh('npm', [...args, tarball, ...[...RUNTIME_DEPENDENCIES, ...packages].map((p) => join(modules, p))], dir);
}

/** A sub-project of `dir` whose package.json sets the module type; its blocks are written there. */
function subProject(dir: string, name: string, type: 'module' | 'commonjs', blocks: readonly ReadmeBlock[]): string {
  const sub = join(dir, name);
  writeBlocks(blocks, sub);
  writeFileSync(join(sub, 'package.json'), JSON.stringify({ type }));
  return sub;
}

const STRICT: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  strict: true,
  skipLibCheck: false,
  esModuleInterop: true,
  types: ['node'],
};
const NODENEXT = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };

/**
 * The errors in the blocks and in the kit's own declarations. skipLibCheck is off so that every declaration file of
 * the kit is checked; errors inside other packages' declarations are theirs (@types/koa 3 names a type that
 * content-disposition 1's own types no longer have) and are left out.
 */
function failures(diagnostics: Map<string, string[]>): Record<string, string[]> {
  const ours = (text: string) => text.includes('node_modules/mesh-metrics/') || !text.includes('node_modules/');
  return Object.fromEntries(
    [...diagnostics].map(([file, d]) => [file, d.filter(ours)] as const).filter(([, d]) => d.length > 0),
  );
}

/** Options that also compile the blocks to JavaScript in `out/` next to them, for the runnable ones to run. */
const emitting = (dir: string, options: ts.CompilerOptions): ts.CompilerOptions => ({
  ...options,
  noEmit: false,
  outDir: join(dir, 'out'),
  rootDir: dir,
});

function runBlocks(dir: string, blocks: readonly ReadmeBlock[]): Record<string, { status: number | null; stderr: string }> {
  const results: Record<string, { status: number | null; stderr: string }> = {};
  for (const b of blocks.filter((x) => x.run)) {
    const r = spawnSync(process.execPath, [join(dir, 'out', b.file.replace(/\.ts$/, '.js'))], { cwd: dir, encoding: 'utf8' });
    results[b.file] = { status: r.status, stderr: r.stderr };
  }
  return results;
}

const allRan = (results: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(results).map((k) => [k, { status: 0, stderr: '' }]));

/**
 * CommonJS has no top-level await: the block's imports stay at the top and the rest becomes the body of an async
 * function that is called at once (what a CommonJS user does with the snippet).
 */
function asCommonJs(block: ReadmeBlock): ReadmeBlock {
  const lines = block.code.split('\n');
  let i = 0;
  while (i < lines.length && (/^import\b/.test(lines[i] ?? '') || lines[i]?.trim() === '')) {
    if (/^import\b/.test(lines[i] ?? '')) while (i < lines.length && !/;\s*(\/\/.*)?$/.test(lines[i] ?? '')) i++;
    i++;
  }
  const code = [
    ...lines.slice(0, i),
    'async function main(): Promise<void> {',
    ...lines.slice(i),
    '}',
    'main().catch((error: unknown) => { console.error(error); process.exitCode = 1; });',
    '',
  ].join('\n');
  return { ...block, code };
}

const usesOnly = (allowed: RegExp) => (b: ReadmeBlock) =>
  [...b.code.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].every((m) => allowed.test(m[1] as string));

describe('consumer projects (the packed tarball)', function () {
  this.timeout(240_000);
  const blocks = readmeTsBlocks(readFileSync(join(repo, 'README.md'), 'utf8'));
  let base = '';
  let tarball = '';
  let full = '';

  before(() => {
    for (const f of ['dist/index.js', 'dist/cjs/index.js', 'dist/cjs/index.d.ts']) {
      if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run npm run build (npm test does) first`);
    }
    base = mkdtempSync(join(tmpdir(), 'mesh-metrics-consumer-'));
    sh('npm', ['pack', '--ignore-scripts', '--loglevel=error', '--pack-destination', base], repo);
    const name = readdirSync(base).find((f) => f.endsWith('.tgz'));
    if (name === undefined) throw new Error('npm pack wrote no tarball');
    tarball = join(base, name);
    full = join(base, 'full');
    const peers = [...CLIENTS, 'express', '@types/express', 'koa', '@types/koa', '@koa/router', 'axios', 'cockatiel'];
    install(full, tarball, [...peers, 'pino', '@types/node']);
  });

  after(() => {
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it('the tarball holds the README, LICENSE, what the README points to, the CommonJS view, and no source maps', () => {
    const listing = sh('tar', ['-tzf', tarball], base).split('\n').filter(Boolean);
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/BENCHMARKS.md',
      'package/samples/prometheus/rules.yml',
      'package/samples/prometheus/alerts.yml',
      'package/samples/prometheus/dashboard.json',
      'package/samples/prometheus/prometheus.yml',
      'package/samples/policy.ts',
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/cjs/index.js',
      'package/dist/cjs/index.d.ts',
      'package/dist/cjs/package.json',
      'package/dist/cli/main.js',
    ]) {
      expect(listing, f).to.include(f);
    }
    expect(listing.filter((f) => f.endsWith('.map')), 'source maps').to.deep.equal([]);
    expect(listing.filter((f) => /^package\/(test|bench|lib|middleware|interceptors|cli)\//.test(f)), 'sources').to.deep.equal([]);
  });

  it('ESM (module nodenext): every README ts block compiles with skipLibCheck false, and the runnable ones run', () => {
    const dir = subProject(full, 'esm', 'module', blocks);
    const options = { ...STRICT, ...NODENEXT };
    expect(failures(compileBlocks(blocks, dir, emitting(dir, options)))).to.deep.equal({});
    const ran = runBlocks(dir, blocks);
    expect(Object.keys(ran)).to.have.length.greaterThanOrEqual(3);
    expect(ran).to.deep.equal(allRan(ran));
  });

  // cockatiel 4 is an ES module only, which module node16 does not let CommonJS import: that project gets cockatiel 3.
  for (const module of ['node16', 'nodenext'] as const) {
    it(`CommonJS (module ${module}): every block compiles (its body in an async function) and the runnable ones run through require()`, () => {
      const cjsBlocks = blocks.map(asCommonJs);
      let project = full;
      if (module === 'node16') {
        project = join(base, 'cockatiel3');
        const peers = [...CLIENTS, 'express', '@types/express', 'koa', '@types/koa', '@koa/router', 'axios', 'pino', '@types/node'];
        install(project, tarball, [...peers, 'cockatiel3']);
        const cockatiel = JSON.parse(readFileSync(join(project, 'node_modules', 'cockatiel', 'package.json'), 'utf8'));
        expect(cockatiel.version).to.match(/^3\./);
      }
      const dir = subProject(project, `cjs-${module}`, 'commonjs', cjsBlocks);
      const kind = module === 'node16' ? ts.ModuleKind.Node16 : ts.ModuleKind.NodeNext;
      const resolution = module === 'node16' ? ts.ModuleResolutionKind.Node16 : ts.ModuleResolutionKind.NodeNext;
      const options = { ...STRICT, module: kind, moduleResolution: resolution };
      expect(failures(compileBlocks(cjsBlocks, dir, emitting(dir, options)))).to.deep.equal({});
      expect(readFileSync(join(dir, 'out', cjsBlocks[0]?.file.replace(/\.ts$/, '.js') ?? ''), 'utf8')).to.contain('require("mesh-metrics")');
      const ran = runBlocks(dir, cjsBlocks);
      expect(Object.keys(ran)).to.have.length.greaterThanOrEqual(3);
      expect(ran).to.deep.equal(allRan(ran));
    });
  }

  it('CommonJS (module commonjs, node10 resolution, the "main"/"types" fields): every block compiles', () => {
    const cjsBlocks = blocks.map(asCommonJs);
    const dir = subProject(full, 'cjs-node10', 'commonjs', cjsBlocks);
    const options = { ...STRICT, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
    expect(failures(compileBlocks(cjsBlocks, dir, options))).to.deep.equal({});
  });

  it('require() and import give the one same module (one copy of the code and its state)', () => {
    const script = `const viaRequire = require('mesh-metrics');
      import('mesh-metrics').then((viaImport) => console.log(viaRequire.meshMetrics === viaImport.meshMetrics, typeof viaRequire.ServiceMeshMetrics));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: full, encoding: 'utf8' });
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('true function');
  });

  it('bundler resolution (module esnext): every block compiles', () => {
    const dir = subProject(full, 'bundler', 'module', blocks);
    const options = { ...STRICT, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
    expect(failures(compileBlocks(blocks, dir, options))).to.deep.equal({});
  });

  it('an Express-only project (no axios, koa or cockatiel installed) type-checks with skipLibCheck false', () => {
    const dir = join(base, 'express-only');
    install(dir, tarball, [...CLIENTS, 'express', '@types/express', '@types/node']);
    for (const peer of ['axios', 'koa', 'cockatiel', '@types/koa']) expect(existsSync(join(dir, 'node_modules', peer)), peer).to.equal(false);
    const mine = blocks.filter(usesOnly(/^(express|prom-client|mesh-metrics|node:.*)$/));
    expect(mine.map((b) => b.code).join('\n')).to.contain("import express from 'express'");
    const sub = subProject(dir, 'app', 'module', mine);
    expect(failures(compileBlocks(mine, sub, { ...STRICT, ...NODENEXT }))).to.deep.equal({});
  });
});
