import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KeyswitchError } from '../errors.js';
import type { ProviderFactory } from '../provider/factory.js';

/** The packages that implement the built-in provider types. */
export const BUILT_IN_PROVIDER_PACKAGES: Readonly<Record<string, string>> = {
  'soft-hsm': '@keyswitch/soft-hsm',
  pkcs11: '@keyswitch/pkcs11',
  'aws-kms': '@keyswitch/aws-kms',
};

/**
 * Imports the backend package for a provider `type` (a built-in type or a package name) and returns its
 * `providerFactory`. The package is looked up from keyswitch's own location, then from the application's
 * (the working directory, the main script's directory, the configuration's directory), so an app installs
 * only the backends it uses.
 */
export async function loadProviderFactory(
  type: string,
  path: string,
  searchFrom: readonly string[],
): Promise<ProviderFactory> {
  const packageName = BUILT_IN_PROVIDER_PACKAGES[type] ?? type;
  if (!Object.hasOwn(BUILT_IN_PROVIDER_PACKAGES, type) && !/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/.test(type)) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `unknown provider type "${type}"; expected ${Object.keys(BUILT_IN_PROVIDER_PACKAGES).join(', ')} or a package name`,
      { path },
    );
  }
  let loaded: { providerFactory?: ProviderFactory } | undefined;
  let firstError: unknown;
  try {
    loaded = await import(packageName);
  } catch (error) {
    firstError = error;
    for (const directory of searchFrom) {
      try {
        loaded = await importFrom(directory, packageName);
        break;
      } catch {
        // try the next place
      }
    }
  }
  if (!loaded) {
    const missing = (firstError as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND';
    throw new KeyswitchError(
      'CONFIG_INVALID',
      missing
        ? `provider type "${type}" needs the package ${packageName}; install it (npm install ${packageName})`
        : `the package ${packageName} for provider type "${type}" failed to load`,
      { path, cause: firstError },
    );
  }
  const factory = loaded.providerFactory;
  if (!factory || typeof factory.create !== 'function' || typeof factory.parseConfig !== 'function') {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `the package ${packageName} does not export a providerFactory`,
      { path },
    );
  }
  return factory;
}

/**
 * Imports a package as the application would from `directory`, through the same build (ESM or CJS) this
 * copy of keyswitch is, so that the backend and the application share one copy of `@keyswitch/core`.
 */
async function importFrom(
  directory: string,
  packageName: string,
): Promise<{ providerFactory?: ProviderFactory }> {
  const require = createRequire(join(directory, 'noop.js'));
  if (IS_COMMONJS) return require(packageName);
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as PackageManifest;
  const entry = esmEntry(manifest);
  if (entry === undefined) return require(packageName);
  return import(pathToFileURL(join(dirname(manifestPath), entry)).href);
}

interface PackageManifest {
  exports?: unknown;
  module?: string;
  main?: string;
}

/** The ESM entry a package's `exports` (or `module`) names for `import`. */
function esmEntry(manifest: PackageManifest): string | undefined {
  let target: unknown = manifest.exports;
  if (target && typeof target === 'object' && '.' in target)
    target = (target as Record<string, unknown>)['.'];
  for (let depth = 0; depth < 4 && target && typeof target === 'object'; depth++) {
    const conditions = target as Record<string, unknown>;
    target = conditions['import'] ?? conditions['node'] ?? conditions['default'];
  }
  return typeof target === 'string' ? target : manifest.module;
}

/** Whether this copy of keyswitch is the CommonJS build. */
const IS_COMMONJS = typeof module === 'object' && typeof exports === 'object';

/** The directories to look for backend packages in, besides keyswitch's own location. */
export function defaultSearchDirectories(baseDir: string): string[] {
  const directories = [process.cwd()];
  if (process.argv[1]) directories.push(dirname(process.argv[1]));
  directories.push(baseDir);
  return [...new Set(directories)];
}
