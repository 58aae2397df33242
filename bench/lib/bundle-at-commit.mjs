/**
 * One workspace package's sources as they were at a commit, bundled into one ES module file, so that the
 * bench can measure today's code against an earlier version in the same process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './workspace.mjs';

/**
 * Extracts packages/`name`/src at `ref` into a temporary directory and bundles its index with esbuild
 * (`options` are added to the build's). Returns the bundle's path, the short commit, and a function that
 * removes the directory.
 *
 * @param {string} name the package's directory under packages/
 * @param {string} ref a commit, branch or tag
 * @param {Record<string, unknown>} [options] more esbuild options
 */
export async function bundleAtCommit(name, ref, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), `keyswitch-bench-${name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const source = `packages/${name}/src`;
  const extract = spawnSync(
    'bash',
    ['-c', 'git -C "$0" archive "$1" "$3" | tar -x -C "$2" --strip-components=2', ROOT, ref, dir, source],
    { encoding: 'utf8' },
  );
  if (extract.status !== 0) {
    remove();
    throw new Error(`cannot extract ${source} at ${ref}: ${extract.stderr.trim()}`);
  }
  const tsup = createRequire(join(ROOT, 'package.json')).resolve('tsup');
  const esbuild = createRequire(tsup)('esbuild');
  const file = join(dir, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [join(dir, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: file,
    logLevel: 'error',
    ...options,
  });
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], {
    encoding: 'utf8',
  }).stdout.trim();
  return { file, commit, remove };
}
