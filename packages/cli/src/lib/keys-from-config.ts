import type { KeyRefs } from '@keyswitch/conformance';
import type { Keyswitch } from '@keyswitch/core';
import { usageError } from './cli-error.js';

/** A configured key the suite will use, and the purpose it serves. */
export interface ProvisionedKey {
  readonly name: string;
  readonly ref: string;
  readonly purpose: string;
}

/**
 * The pre-provisioned keys of one provider, by the suite's purposes (`<spec>:<usage>`), from the keys
 * the configuration binds to that provider. Several keys of one purpose give the suite its second key.
 * No key is offered for `lifecycle`: a run on configured keys never disables or deletes them.
 *
 * @throws a usage error when the configuration binds no key to the provider
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
    const purpose = `${config.spec}:${config.usage}`;
    keys.push({ name, ref: config.ref, purpose });
    refs[purpose] = [...(refs[purpose] ?? []), config.ref];
  }
  if (keys.length === 0) {
    throw usageError(`--keys-from-config: the configuration binds no keys to provider ${providerName}`);
  }
  return { refs: refs as KeyRefs, keys };
}
