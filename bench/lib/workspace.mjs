/**
 * Where the benchmark finds the workspace's built packages and their dependencies. The harness runs on
 * the builds (packages/NAME/dist), as an application would, never on the TypeScript sources.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The packages the benchmark loads. */
export const PACKAGES = ['core', 'soft-hsm', 'envelope', 'aws-kms', 'kms-local', 'pkcs11'];

/** The built ESM entry of a workspace package. */
export function builtEntry(name) {
  return join(ROOT, 'packages', name, 'dist', 'index.js');
}

/** The packages whose build is missing. */
export function missingBuilds() {
  return PACKAGES.filter((name) => !existsSync(builtEntry(name)));
}

/** Imports a workspace package from its build. */
export function importPackage(name) {
  return import(pathToFileURL(builtEntry(name)).href);
}

/**
 * Imports a third-party dependency as the workspace package that depends on it sees it
 * (`pkcs11js` from packages/pkcs11, `@aws-sdk/client-kms` from packages/aws-kms), so the raw
 * baseline runs on exactly the library keyswitch uses. Returns the module namespace (a CommonJS module's
 * exports are its `default`).
 */
export async function importDependency(owner, specifier) {
  const require = createRequire(join(ROOT, 'packages', owner, 'package.json'));
  const resolved = require.resolve(specifier);
  return import(pathToFileURL(resolved).href);
}

/** The version of a dependency, from its package.json, as `owner` resolves it. */
export function dependencyVersion(owner, specifier) {
  try {
    const require = createRequire(join(ROOT, 'packages', owner, 'package.json'));
    return require(`${specifier}/package.json`).version;
  } catch {
    return undefined;
  }
}
