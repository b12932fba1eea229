import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { compileBlocks, readmeTsBlocks, writeBlocks } from './helpers/readme-blocks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, '.cache', 'readme-blocks');

// The README's TypeScript blocks, each compiled on its own as a user pastes it into a file, against the sources.
// (test/consumer.test.ts does the same against the packed tarball, in fresh ESM, CommonJS and bundler projects.)
describe('README code blocks', () => {
  const blocks = readmeTsBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
  before(() => writeBlocks(blocks, dir));

  it('finds the blocks, some of them marked runnable', () => {
    expect(blocks.length).to.be.greaterThanOrEqual(12);
    expect(blocks.filter((b) => b.run).length).to.be.greaterThanOrEqual(3);
  });

  it('every ts block type-checks on its own (strict, nodenext, no name it does not define or import)', function () {
    this.timeout(60_000);
    const diagnostics = compileBlocks(blocks, dir, {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2024.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
      baseUrl: root,
      paths: { 'mesh-metrics': ['./index.ts'] },
    });
    const failing = Object.fromEntries([...diagnostics].filter(([, d]) => d.length > 0));
    expect(failing, 'README.md blocks (file names give the line the block starts on)').to.deep.equal({});
  });

  for (const block of blocks.filter((b) => b.run)) {
    it(`the block at README line ${block.line} runs and exits 0`, function () {
      this.timeout(30_000);
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, block.file)], { cwd: root, encoding: 'utf8' });
      expect(r.stderr).to.equal('');
      expect(r.status).to.equal(0);
    });
  }
});
