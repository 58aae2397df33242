import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError } from './cli-error.js';

/** Writes report files into `directory` (created if needed); returns their paths. */
export async function writeReports(
  cwd: string,
  directory: string,
  files: Readonly<Record<string, string>>,
): Promise<string[]> {
  const target = resolve(cwd, directory);
  try {
    await mkdir(target, { recursive: true });
    const written: string[] = [];
    for (const [name, content] of Object.entries(files)) {
      const path = join(target, name);
      await writeFile(path, content.endsWith('\n') ? content : `${content}\n`);
      written.push(path);
    }
    return written;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError('INVALID_INPUT', `cannot write reports to --report-dir ${directory} (${code})`);
  }
}
