import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The most lines a source file may have: past this, a module is doing more than one job. */
const MAX_LINES = 500;

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');

/** Lines as `wc -l` and editors count them: a final newline does not start another line. */
function lineCount(text: string): number {
  if (text.length === 0) return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(c|m)?(t|j)sx?$/.test(entry.name) ? [path] : [];
  });
}

const files = readdirSync(packagesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => {
    const src = join(packagesDir, entry.name, 'src');
    try {
      return sourceFiles(src);
    } catch {
      return [];
    }
  });

describe('source file size', () => {
  it('counts lines the way wc -l does', () => {
    expect(lineCount('')).toBe(0);
    expect(lineCount('a')).toBe(1);
    expect(lineCount('a\n')).toBe(1);
    expect(lineCount('a\nb')).toBe(2);
    expect(lineCount(`${'x\n'.repeat(MAX_LINES + 1)}`)).toBe(MAX_LINES + 1);
  });

  it('reads the source files of every package', () => {
    const names = files.map((file) => relative(root, file).split('\\').join('/'));
    expect(names).toContain('packages/core/src/provider/key-provider.ts');
    expect(names).toContain('packages/pkcs11/src/pkcs11-provider.ts');
    expect(names.length).toBeGreaterThan(100);
  });

  it(`has no file under packages/*/src over ${MAX_LINES} lines`, () => {
    const oversize = files
      .map((file) => ({ file: relative(root, file), lines: lineCount(readFileSync(file, 'utf8')) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(oversize).toEqual([]);
  });
});
