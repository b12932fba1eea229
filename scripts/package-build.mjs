// Build steps around `tsc -p tsconfig.build.json` (see package.json "build"):
//   node scripts/package-build.mjs clean   removes dist/, so no stale file from an older build is packed
//   node scripts/package-build.mjs cjs     writes dist/cjs/: the CommonJS view of the package for require() and for
//                                          TypeScript projects that compile to CommonJS (see README "API stability")
// dist/cjs/ holds a package.json of type "commonjs", an index.js that hands require() the ES module itself (Node
// 20.19+ loads ES modules with require(), so there is one copy of the code and of its state), and a copy of every
// declaration file, which TypeScript then reads as CommonJS: `import ... from 'mesh-metrics'` type-checks under
// module node16/nodenext in a CommonJS project, and the peers' types (axios's) resolve to their CommonJS copies.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const cjs = join(dist, 'cjs');

function declarations(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === cjs || path === join(dist, 'cli') ? [] : declarations(path);
    return e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const step = process.argv[2];
if (step === 'clean') {
  rmSync(dist, { recursive: true, force: true });
} else if (step === 'cjs') {
  rmSync(cjs, { recursive: true, force: true });
  mkdirSync(cjs, { recursive: true });
  for (const file of declarations(dist)) cpSync(file, join(cjs, relative(dist, file)));
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
  writeFileSync(
    join(cjs, 'index.js'),
    "'use strict';\n// CommonJS entry: the ES module itself (require() of an ES module, Node 20.19+), so both entries share one copy.\nmodule.exports = require('../index.js');\n",
  );
} else {
  console.error(`usage: node scripts/package-build.mjs clean|cjs (got ${JSON.stringify(step)})`);
  process.exit(2);
}
