/**
 * `@keyswitch/core` as it was at another commit, bundled into one file, so that the telemetry bench can
 * measure today's core with telemetry off against the core before telemetry existed, in the same process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './workspace.mjs';

/**
 * Extracts packages/core/src at `ref` and bundles it (its dependencies resolved from today's
 * packages/core). Returns the bundle's path and a function that removes it.
 *
 * @param {string} ref a commit, branch or tag
 */
export async function buildBaselineCore(ref) {
  const dir = mkdtempSync(join(tmpdir(), 'keyswitch-bench-baseline-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const extract = spawnSync(
    'bash',
    [
      '-c',
      'git -C "$0" archive "$1" packages/core/src | tar -x -C "$2" --strip-components=2',
      ROOT,
      ref,
      dir,
    ],
    { encoding: 'utf8' },
  );
  if (extract.status !== 0) {
    remove();
    throw new Error(`cannot extract packages/core/src at ${ref}: ${extract.stderr.trim()}`);
  }
  const tsup = createRequire(join(ROOT, 'package.json')).resolve('tsup');
  const esbuild = createRequire(tsup)('esbuild');
  const outfile = join(dir, 'core.mjs');
  await esbuild.build({
    entryPoints: [join(dir, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    nodePaths: [join(ROOT, 'packages', 'core', 'node_modules')],
    define: { __KEYSWITCH_COMMONJS_BUILD__: 'false' },
    // node-forge is CommonJS: give the bundle a require for the built-in modules it asks for.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], {
    encoding: 'utf8',
  }).stdout.trim();
  return { file: outfile, commit, remove };
}
