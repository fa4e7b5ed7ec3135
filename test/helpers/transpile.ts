/**
 * Builds plain JavaScript copies of a few source files into a temporary folder, so a test can
 * run product code in a child process (e.g. to SIGKILL it mid-write) without a full build.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const sourceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../source');

/**
 * Transpiles `files` (paths relative to source/, e.g. `engine/journal.ts`) into `outDir`,
 * keeping the folder layout; returns the absolute path of each output file.
 */
export function transpileSources(files: string[], outDir: string): string[] {
  return files.map((file) => {
    const input = join(sourceRoot, file);
    const output = join(outDir, relative(sourceRoot, input)).replace(/\.tsx?$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(input, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        jsx: ts.JsxEmit.ReactJSX,
      },
      fileName: input,
    });
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, outputText);
    return output;
  });
}

/** The engine files the journal needs at run time. */
export const JOURNAL_SOURCES = [
  'engine/journal.ts',
  'engine/errors.ts',
  'engine/events.ts',
  'engine/redact.ts',
  'engine/step.ts',
  'engine/types.ts',
  'wire/guest.ts',
];
