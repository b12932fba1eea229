import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import semver from 'semver';

// What a fresh `npm install` warns about (EBADENGINE): every package of the lockfile whose `engines.node` excludes a
// supported Node line. The README's Development section names the one expected exception.
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

function excluding(nodeVersion: string): string[] {
  const out: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (path === '' || range === undefined) continue;
    if (!semver.satisfies(nodeVersion, range)) out.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} (node ${range})`);
  }
  return out.sort();
}

describe('install engines', () => {
  it('the package itself requires Node 20.19 (require() of ES modules)', () => {
    expect(pkg.engines.node).to.equal('>=20.19');
  });

  it('on Node 20 only cockatiel 4 (a devDependency; the README says why) declares an engine that excludes it', () => {
    const found = excluding('20.19.0');
    expect(found).to.have.length(1);
    expect(found[0]).to.match(/^cockatiel@4\.\d+\.\d+ \(node >=22\)$/);
  });

  for (const line of ['22.12.0', '24.0.0']) {
    it(`on Node ${line.split('.')[0]} no package declares an engine that excludes it`, () => {
      expect(excluding(line)).to.deep.equal([]);
    });
  }
});
