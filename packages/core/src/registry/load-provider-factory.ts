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
export async function loadProviderFactory(type: string, path: string, searchFrom: readonly string[]): Promise<ProviderFactory> {
  const packageName = BUILT_IN_PROVIDER_PACKAGES[type] ?? type;
  if (!Object.hasOwn(BUILT_IN_PROVIDER_PACKAGES, type) && !/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/.test(type)) {
    throw new KeyswitchError(
      'CONFIG_INVALID',
      `unknown provider type "${type}"; expected ${Object.keys(BUILT_IN_PROVIDER_PACKAGES).join(', ')} or a package name`,
      { path },
    );
  }
  let module: { providerFactory?: ProviderFactory } | undefined;
  let firstError: unknown;
  try {
    module = await import(packageName);
  } catch (error) {
    firstError = error;
    for (const directory of searchFrom) {
      try {
        const resolved = createRequire(join(directory, 'noop.js')).resolve(packageName);
        module = await import(pathToFileURL(resolved).href);
        break;
      } catch {
        // try the next place
      }
    }
  }
  if (!module) {
    const missing = (firstError as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND';
    throw new KeyswitchError(
      'CONFIG_INVALID',
      missing
        ? `provider type "${type}" needs the package ${packageName}; install it (npm install ${packageName})`
        : `the package ${packageName} for provider type "${type}" failed to load`,
      { path, cause: firstError },
    );
  }
  const factory = module.providerFactory;
  if (!factory || typeof factory.create !== 'function' || typeof factory.parseConfig !== 'function') {
    throw new KeyswitchError('CONFIG_INVALID', `the package ${packageName} does not export a providerFactory`, { path });
  }
  return factory;
}

/** The directories to look for backend packages in, besides keyswitch's own location. */
export function defaultSearchDirectories(baseDir: string): string[] {
  const directories = [process.cwd()];
  if (process.argv[1]) directories.push(dirname(process.argv[1]));
  directories.push(baseDir);
  return [...new Set(directories)];
}
