import { invalidInput, type Keyswitch } from '@keyswitch/core';

/**
 * `ks` when it is a keyswitch registry (it has the registry's methods: a registry from another copy of
 * `@keyswitch/core` still counts); INVALID_INPUT otherwise.
 *
 * @example
 * ```ts
 * const registry = requireKeyswitch(ks);
 * ```
 */
export function requireKeyswitch(ks: Keyswitch): Keyswitch {
  if (typeof (ks as Partial<Keyswitch> | undefined)?.keyVersions !== 'function') {
    throw invalidInput('Keyring.create needs a Keyswitch (from Keyswitch.fromConfig)');
  }
  return ks;
}
