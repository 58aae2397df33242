/**
 * `@keyswitch/core` as it was at another commit, bundled into one file, so that the telemetry bench can
 * measure today's core with telemetry off against the core before telemetry existed, in the same process.
 */
import { join } from 'node:path';
import { bundleAtCommit } from './bundle-at-commit.mjs';
import { ROOT } from './workspace.mjs';

/**
 * Extracts packages/core/src at `ref` and bundles it (its dependencies resolved from today's
 * packages/core). Returns the bundle's path and a function that removes it.
 *
 * @param {string} ref a commit, branch or tag
 */
export function buildBaselineCore(ref) {
  return bundleAtCommit('core', ref, {
    nodePaths: [join(ROOT, 'packages', 'core', 'node_modules')],
    define: { __KEYSWITCH_COMMONJS_BUILD__: 'false' },
    // node-forge is CommonJS: give the bundle a require for the built-in modules it asks for.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
}
