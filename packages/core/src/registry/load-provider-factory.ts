import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KeyswitchError } from '../errors.js';
import type { ProviderFactory } from '../provider/factory.js';

/**
 * The packages that implement the built-in provider types.
 *
 * @example
 * ```ts
 * BUILT_IN_PROVIDER_PACKAGES['aws-kms']; // '@keyswitch/aws-kms'
 * ```
 */
export const BUILT_IN_PROVIDER_PACKAGES: Readonly<Record<string, string>> = {
  'soft-hsm': '@keyswitch/soft-hsm',
  pkcs11: '@keyswitch/pkcs11',
  'aws-kms': '@keyswitch/aws-kms',
};

/** An `@keyswitch/*` package name: a scope keyswitch publishes under, no path segments. */
const KEYSWITCH_PACKAGE = /^@keyswitch\/[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;

/**
 * The package a provider `type` names, or a CONFIG_INVALID naming `path`. Only the built-in short names
 * and `@keyswitch/*` packages are loaded from configuration: a path, a relative name, `.`, `..` or any
 * other package would let a configuration file choose code to run. Other backends are registered in code
 * through `providerFactories`.
 *
 * @example
 * ```ts
 * providerPackageFor('pkcs11', 'providers.hsm.type'); // '@keyswitch/pkcs11'
 * providerPackageFor('./my-backend', 'providers.hsm.type'); // throws CONFIG_INVALID
 * ```
 * @throws CONFIG_INVALID when the type is neither a built-in type nor an `@keyswitch/*` package
 */
export function providerPackageFor(type: string, path: string): string {
  if (Object.hasOwn(BUILT_IN_PROVIDER_PACKAGES, type)) return BUILT_IN_PROVIDER_PACKAGES[type] as string;
  if (KEYSWITCH_PACKAGE.test(type)) return type;
  throw new KeyswitchError(
    'CONFIG_INVALID',
    `provider type ${JSON.stringify(type)} is not allowed: expected ${Object.keys(BUILT_IN_PROVIDER_PACKAGES).join(', ')}, an @keyswitch/* package, or a type registered in code with providerFactories`,
    { path, retryable: false },
  );
}

/**
 * Loads the backend package for a provider `type` (a built-in type or an `@keyswitch/*` package) and
 * returns its `providerFactory`. The package is looked up from keyswitch's own location, then from the
 * application's (the working directory, the main script's directory, the configuration's directory), so
 * an app installs only the backends it uses. The CommonJS build loads backends with `require` and the ESM
 * build with `import`, so a backend always shares the application's one copy of `@keyswitch/core`.
 *
 * @example
 * ```ts
 * const factory = await loadProviderFactory('soft-hsm', 'providers.dev.type', [process.cwd()]);
 * ```
 * @throws CONFIG_INVALID naming `path` when the type is not allowed, its package is not installed or
 * does not export a `providerFactory`; never retryable
 */
export async function loadProviderFactory(
  type: string,
  path: string,
  searchFrom: readonly string[],
): Promise<ProviderFactory> {
  const packageName = providerPackageFor(type, path);
  let loaded: { providerFactory?: ProviderFactory } | undefined;
  let firstError: unknown;
  try {
    loaded = await loadOwn(packageName);
  } catch (error) {
    firstError = error;
    for (const directory of searchFrom) {
      try {
        loaded = await loadFrom(directory, packageName);
        break;
      } catch {
        // try the next place
      }
    }
  }
  if (!loaded) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      isMissing(firstError, packageName)
        ? `provider type "${type}" needs the package ${packageName}; install it: ${installHint(packageName)}`
        : `the package ${packageName} for provider type "${type}" failed to load`,
      { path, cause: firstError, retryable: false },
    );
  }
  const factory = loaded.providerFactory;
  if (!factory || typeof factory.create !== 'function' || typeof factory.parseConfig !== 'function') {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `the package ${packageName} does not export a providerFactory`,
      {
        path,
        retryable: false,
      },
    );
  }
  return factory;
}

/** How to install a backend package, with npm and with pnpm (which must be allowed to build native code). */
function installHint(packageName: string): string {
  const npm = `npm install ${packageName}`;
  if (packageName !== BUILT_IN_PROVIDER_PACKAGES['pkcs11']) return npm;
  return `${npm} (with pnpm: pnpm add ${packageName} pkcs11js, then allow pkcs11js's native build with pnpm approve-builds or onlyBuiltDependencies)`;
}

type BackendModule = { providerFactory?: ProviderFactory };

/** Set by the build (tsup `define`): true in the CommonJS build, false in the ESM one; absent in sources. */
declare const __KEYSWITCH_COMMONJS_BUILD__: boolean | undefined;

/**
 * Whether this copy of keyswitch is the CommonJS build. Decided at build time, not by probing for
 * `module` or `require`, which test runners and bundlers define in ESM code too.
 */
const IS_COMMONJS = typeof __KEYSWITCH_COMMONJS_BUILD__ === 'boolean' && __KEYSWITCH_COMMONJS_BUILD__;

/** Loads a package from keyswitch's own location, through the same build (ESM or CJS) as this copy. */
async function loadOwn(packageName: string): Promise<BackendModule> {
  if (IS_COMMONJS) return require(packageName) as BackendModule;
  return (await import(packageName)) as BackendModule;
}

/**
 * Loads a package as the application would from `directory`, through the same build (ESM or CJS) this
 * copy of keyswitch is, so that the backend and the application share one copy of `@keyswitch/core`.
 */
async function loadFrom(directory: string, packageName: string): Promise<BackendModule> {
  const requireFrom = createRequire(join(directory, 'noop.js'));
  if (IS_COMMONJS) return requireFrom(packageName) as BackendModule;
  const manifestPath = requireFrom.resolve(`${packageName}/package.json`);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as PackageManifest;
  const entry = esmEntry(manifest);
  if (entry === undefined) return requireFrom(packageName) as BackendModule;
  return (await import(pathToFileURL(join(dirname(manifestPath), entry)).href)) as BackendModule;
}

/** Whether a load failed because the package itself (not one of its dependencies) is not installed. */
function isMissing(error: unknown, packageName: string): boolean {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && message.includes(`'${packageName}'`);
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

/**
 * The directories to look for backend packages in, besides keyswitch's own location.
 *
 * @example
 * ```ts
 * defaultSearchDirectories('/srv/app/config'); // [cwd, main script's directory, '/srv/app/config']
 * ```
 */
export function defaultSearchDirectories(baseDir: string): string[] {
  const directories = [process.cwd()];
  if (process.argv[1]) directories.push(dirname(process.argv[1]));
  directories.push(baseDir);
  return [...new Set(directories)];
}
