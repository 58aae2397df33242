/**
 * `@keyswitch/envelope` as it was before key commitment (the last release writing format 1), bundled into
 * one file over today's built `@keyswitch/core`, so that the bench can time today's format 2 sealing
 * against the format 1 release's own sealing, on the same registry in the same process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bundleAtCommit } from './bundle-at-commit.mjs';
import { builtEntry } from './workspace.mjs';

/** The last commit whose envelope package wrote format 1 (the next one introduced format 2). */
export const FORMAT_ONE_RELEASE = 'fedcc38^';

/**
 * Extracts packages/envelope/src at `ref` and bundles it, with `@keyswitch/core` left to today's build.
 * Returns the bundle's path, the commit, and a function that removes it.
 *
 * @param {string} [ref] a commit, branch or tag
 */
export async function buildBaselineEnvelope(ref = FORMAT_ONE_RELEASE) {
  const bundle = await bundleAtCommit('envelope', ref, { external: ['@keyswitch/core'] });
  // The bundle lives outside the workspace: point its core import at today's build.
  const core = pathToFileURL(builtEntry('core')).href;
  const text = readFileSync(bundle.file, 'utf8');
  writeFileSync(bundle.file, text.replaceAll('from "@keyswitch/core"', `from ${JSON.stringify(core)}`));
  return bundle;
}
