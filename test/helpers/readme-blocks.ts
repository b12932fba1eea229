import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** One ```ts block of the README, with the line its code starts on. */
export interface ReadmeBlock {
  readonly line: number;
  readonly code: string;
  /** Marked `<!-- readme-test: run -->` on the line before the fence: it runs to completion on its own. */
  readonly run: boolean;
  /** The file name the tests give it. */
  readonly file: string;
}

/** Every ```ts block of a Markdown text. */
export function readmeTsBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]?.trim() !== '```') end++;
    const line = start + 1;
    const run = lines[i - 1]?.trim() === '<!-- readme-test: run -->';
    blocks.push({ line, code: lines.slice(start, end).join('\n') + '\n', run, file: `readme-line-${line}.ts` });
    i = end;
  }
  return blocks;
}

/** Writes the blocks into `dir` (emptied first), one file each; returns their paths. */
export function writeBlocks(blocks: readonly ReadmeBlock[], dir: string): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return blocks.map((b) => {
    const path = join(dir, b.file);
    writeFileSync(path, b.code);
    return path;
  });
}

/**
 * Type-checks the blocks written by {@link writeBlocks} in one program where every file is a module of its own
 * (and emits them when `options` has an `outDir` and `noEmit: false`). Returns the diagnostics per block file,
 * formatted.
 */
export function compileBlocks(
  blocks: readonly ReadmeBlock[],
  dir: string,
  options: ts.CompilerOptions,
): Map<string, string[]> {
  const files = blocks.map((b) => join(dir, b.file));
  const program = ts.createProgram(files, { moduleDetection: ts.ModuleDetectionKind.Force, noEmit: true, ...options });
  // With an outDir (and noEmit false) the blocks are compiled to JavaScript there too, for running them.
  if (options.outDir !== undefined && options.noEmit === false) program.emit();
  const byFile = new Map<string, string[]>(blocks.map((b) => [b.file, []]));
  const host: ts.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  };
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file === undefined ? undefined : blocks.find((b) => d.file?.fileName.endsWith(`/${b.file}`))?.file;
    const text = ts.formatDiagnostic(d, host).trim();
    if (name === undefined) byFile.set('(other)', [...(byFile.get('(other)') ?? []), text]);
    else byFile.get(name)?.push(text);
  }
  return byFile;
}
