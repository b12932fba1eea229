import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_NAME } from './helpers/client.js';

/** Runs a Node script against the built package (npm test builds first), as a user's project would load it. */
function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: new URL('..', import.meta.url) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const USE = `
  const reg = new Registry();
  const m = new mm.ServiceMeshMetrics({ registry: reg });
  m.recordCallSuccess('users', 'get_user', 0.1);
  reg.metrics().then((t) => console.log(t.split('\\n').find((l) => l.startsWith('mesh_calls_total{'))));
`;

describe('package', () => {
  it('loads with require()', () => {
    const r = node(['-e', `const mm = require('mesh-metrics'); const { Registry } = require('${CLIENT_NAME}'); ${USE}`]);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('mesh_calls_total{service="users",operation="get_user",status="success"} 1');
  });

  it('loads with import', () => {
    const r = node(['--input-type=module', '-e', `import * as mm from 'mesh-metrics'; import { Registry } from '${CLIENT_NAME}'; ${USE}`]);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('mesh_calls_total{service="users",operation="get_user",status="success"} 1');
  });

  /** A resolve hook that refuses the optional peers, so a static import of one fails the load. */
  const REFUSE_PEERS = `export async function resolve(specifier, context, next) {
    if (/^(express|koa|axios|cockatiel|undici)(\\/|$)/.test(specifier)) throw new Error('root entry imported ' + specifier);
    return next(specifier, context);
  }`;
  const underGuard = (code: string) =>
    node([
      '--input-type=module',
      '-e',
      `import { register } from 'node:module';
       register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(REFUSE_PEERS)}));
       ${code}`,
    ]);

  it('imports no optional peer (express, koa, axios, cockatiel, undici) when the root entry loads', () => {
    const r = underGuard(`const mm = await import('mesh-metrics'); console.log(typeof mm.ServiceMeshMetrics, typeof mm.meshMetrics);`);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('function function');
  });

  it('the import guard above does catch an optional peer import', () => {
    const r = underGuard(`await import('express');`);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('root entry imported express');
  });

  it('declares prom-client and @prometheus-io/client as optional peers and never as dependencies', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.peerDependencies['prom-client']).to.equal('^15.0.0');
    expect(pkg.peerDependencies['@prometheus-io/client']).to.equal('^0.16.0');
    expect(pkg.dependencies?.['prom-client']).to.equal(undefined);
    expect(pkg.dependencies?.['@prometheus-io/client']).to.equal(undefined);
    expect(pkg.devDependencies?.['@prometheus-io/client'], 'installed by .ci/run for Node 22 and 24 only').to.equal(undefined);
    expect(Object.keys(pkg.peerDependenciesMeta).sort()).to.deep.equal([
      '@prometheus-io/client',
      'axios',
      'cockatiel',
      'express',
      'koa',
      'prom-client',
      'undici',
    ]);
  });
});

describe('publishing', () => {
  const check = (pkg: object) => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-publish-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
      return spawnSync(process.execPath, ['scripts/publish-check.mjs', join(dir, 'package.json')], {
        encoding: 'utf8',
        cwd: new URL('..', import.meta.url),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('npm publish is refused while package.json has no repository, homepage and bugs (the project has no public address yet)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.prepublishOnly).to.equal('node scripts/publish-check.mjs');
    const r = check(pkg);
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      'publish refused: package.json has no repository, homepage, bugs (an address starting with https:// or git+https://). ' +
        'Add the public repository, its home page and its issue tracker before publishing.',
    );
  });

  it('lets the publish go on once the three fields hold addresses, and names only what is still missing', () => {
    const base = { name: 'mesh-metrics', version: '0.1.0' };
    const r = check({
      ...base,
      repository: { type: 'git', url: 'git+https://example.test/mesh-metrics.git' },
      homepage: 'https://example.test/mesh-metrics#readme',
      bugs: { url: 'https://example.test/mesh-metrics/issues' },
    });
    expect(r.status).to.equal(0);
    expect(r.stderr).to.equal('');
    const partial = check({ ...base, repository: 'git+https://example.test/mesh-metrics.git', homepage: 'not a url' });
    expect(partial.status).to.equal(1);
    expect(partial.stderr).to.contain('has no homepage, bugs (');
  });
});
