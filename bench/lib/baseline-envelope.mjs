/**
 * `@keyswitch/envelope` as it was before key commitment (the last release writing format 1), bundled into
 * one file over today's built `@keyswitch/core`, so that the bench can time today's format 2 sealing
 * against the format 1 release's own sealing, on the same registry in the same process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtEntry, ROOT } from './workspace.mjs';

/** The last commit whose envelope package wrote format 1 (the next one introduced format 2). */
export const FORMAT_ONE_RELEASE = 'fedcc38^';

/**
 * Extracts packages/envelope/src at `ref` and bundles it, with `@keyswitch/core` left to today's build.
 * Returns the bundle's path, the commit, and a function that removes it.
 *
 * @param {string} [ref] a commit, branch or tag
 */
export async function buildBaselineEnvelope(ref = FORMAT_ONE_RELEASE) {
  const dir = mkdtempSync(join(tmpdir(), 'keyswitch-bench-envelope-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const extract = spawnSync(
    'bash',
    [
      '-c',
      'git -C "$0" archive "$1" packages/envelope/src | tar -x -C "$2" --strip-components=2',
      ROOT,
      ref,
      dir,
    ],
    { encoding: 'utf8' },
  );
  if (extract.status !== 0) {
    remove();
    throw new Error(`cannot extract packages/envelope/src at ${ref}: ${extract.stderr.trim()}`);
  }
  const tsup = createRequire(join(ROOT, 'package.json')).resolve('tsup');
  const esbuild = createRequire(tsup)('esbuild');
  const outfile = join(dir, 'envelope.mjs');
  await esbuild.build({
    entryPoints: [join(dir, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    external: ['@keyswitch/core'],
    logLevel: 'error',
  });
  // The bundle lives outside the workspace: point its core import at today's build.
  const core = pathToFileURL(builtEntry('core')).href;
  const text = readFileSync(outfile, 'utf8').replaceAll(
    'from "@keyswitch/core"',
    `from ${JSON.stringify(core)}`,
  );
  writeFileSync(outfile, text);
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], {
    encoding: 'utf8',
  }).stdout.trim();
  return { file: outfile, commit, remove };
}
