import { KeyswitchError } from '@keyswitch/core';

/**
 * The error for a pkcs11js native addon that is missing or was never built (pnpm skips dependency build
 * scripts unless allowed): a configuration problem with a known fix, not a transient failure.
 *
 * @example
 * ```ts
 * try { await import('pkcs11js'); } catch (error) { throw pkcs11jsMissing(error); }
 * ```
 */
export function pkcs11jsMissing(cause: unknown): KeyswitchError {
  return new KeyswitchError(
    'CONFIG_INVALID',
    'the pkcs11js native addon is missing or was not built. With npm: run "npm rebuild pkcs11js". ' +
      'With pnpm: allow its build script ("pnpm approve-builds", or add "pkcs11js" to "onlyBuiltDependencies" ' +
      'under "pnpm" in package.json), then reinstall with "pnpm install --force" (pnpm rebuild does not build it)',
    { path: 'module', retryable: false, cause },
  );
}
