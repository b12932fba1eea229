import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The names the README's "API stability" table lists: its second column holds values, its third types. */
export function readmeApi(readme: string): { values: string[]; types: string[] } {
  const section = /<!-- section:api -->([\s\S]*?)<!-- \/section:api -->/.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no <!-- section:api --> section');
  const values: string[] = [];
  const types: string[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length !== 5 || cells[1] === 'area' || /^-+$/.test(cells[1] ?? '')) continue;
    const names = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1] as string);
    values.push(...names(cells[2]));
    types.push(...names(cells[3]));
  }
  return { values: values.sort(), types: types.sort() };
}

/** Every name index.ts exports, split into run-time values and type-only names, as the compiler sees them. */
function sourceExports(): { values: string[]; types: string[] } {
  const entry = root('index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile);
  const values: string[] = [];
  const types: string[] = [];
  for (const s of checker.getExportsOfModule(moduleSymbol as ts.Symbol)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    const typeOnlyExport = (s.declarations ?? []).some(
      (d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly),
    );
    const typeOnly = typeOnlyExport || !(target.flags & ts.SymbolFlags.Value);
    (typeOnly ? types : values).push(s.name);
  }
  return { values: values.sort(), types: types.sort() };
}

function difference(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => !b.includes(x));
}

const HOW_TO_FIX =
  'The package root must export exactly the names in README.md\'s "API stability" table (section:api). ' +
  'For a new public name: export it from index.ts, add it to the table, run `npm run api:update` and commit ' +
  'etc/mesh-metrics.api.md. For an internal one: import it from its own file instead of exporting it from index.ts.';

describe('public API', () => {
  const readme = readmeApi(readFileSync(root('README.md'), 'utf8'));

  it('the README lists each name once', () => {
    const all = [...readme.values, ...readme.types];
    expect(all.filter((n, i) => all.indexOf(n) !== i), 'listed twice').to.deep.equal([]);
    expect(readme.values.length).to.be.greaterThan(20);
  });

  it('the root entry exports at run time exactly the functions and classes the README lists', async () => {
    const actual = Object.keys(await import('../index.js')).sort();
    const missing = difference(readme.values, actual);
    const extra = difference(actual, readme.values);
    expect({ 'exported, not in the README': extra, 'in the README, not exported': missing }, HOW_TO_FIX).to.deep.equal({
      'exported, not in the README': [],
      'in the README, not exported': [],
    });
  });

  it('the root entry exports exactly the values and types the README lists (as the compiler sees index.ts)', function () {
    this.timeout(60_000); // one TypeScript program over the sources
    const actual = sourceExports();
    expect(
      {
        'values exported, not in the README': difference(actual.values, readme.values),
        'values in the README, not exported': difference(readme.values, actual.values),
        'types exported, not in the README': difference(actual.types, readme.types),
        'types in the README, not exported': difference(readme.types, actual.types),
      },
      HOW_TO_FIX,
    ).to.deep.equal({
      'values exported, not in the README': [],
      'values in the README, not exported': [],
      'types exported, not in the README': [],
      'types in the README, not exported': [],
    });
  });
});
