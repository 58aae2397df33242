import type { KeyRefs } from '@keyswitch/conformance';
import type { Keyswitch } from '@keyswitch/core';
import { usageError } from './cli-error.js';

/** A configured key the suite will use, and the purpose it serves. */
export interface ProvisionedKey {
  readonly name: string;
  readonly ref: string;
  readonly purpose: string;
}

/** The configured key name that the suite may disable, enable and schedule for deletion. */
export const LIFECYCLE_KEY_NAME = 'lifecycle';

/**
 * The pre-provisioned keys of one provider, by the suite's purposes (`<spec>:<usage>`), from the keys
 * the configuration binds to that provider. Several keys of one purpose give the suite its second key.
 * A key named `lifecycle` is offered for the lifecycle checks alone (they disable, enable and schedule it
 * for deletion); no other configured key is ever disabled or deleted.
 *
 * @throws a usage error when the configuration binds no key to the provider
 * @example
 * ```ts
 * const { refs } = keysFromConfig(keyswitch, 'hsm'); // { 'ECC_NIST_P256:SIGN_VERIFY': [...], lifecycle: [...] }
 * ```
 */
export function keysFromConfig(
  keyswitch: Keyswitch,
  providerName: string,
): { refs: KeyRefs; keys: ProvisionedKey[] } {
  const keys: ProvisionedKey[] = [];
  const refs: Record<string, string[]> = {};
  for (const name of keyswitch.keyNames()) {
    const config = keyswitch.keyConfig(name);
    if (config.provider !== providerName) continue;
    const purpose = name === LIFECYCLE_KEY_NAME ? LIFECYCLE_KEY_NAME : `${config.spec}:${config.usage}`;
    keys.push({ name, ref: config.ref, purpose });
    refs[purpose] = [...(refs[purpose] ?? []), config.ref];
  }
  if (keys.length === 0) {
    throw usageError(`--keys-from-config: the configuration binds no keys to provider ${providerName}`);
  }
  return { refs: refs as KeyRefs, keys };
}
