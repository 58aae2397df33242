import { isKeyswitchError, type KeyDescription, type Keyswitch } from '@keyswitch/core';
import { errorText } from './cli-error.js';

/** A configured logical key, with what its backend says about it. */
export interface ConfiguredKeyState {
  readonly name: string;
  readonly provider: string;
  readonly ref: string;
  readonly spec: string;
  readonly usage: string;
  readonly algorithm: string;
  /** The backend key's state, `NOT_FOUND`, or `ERROR`. */
  readonly state: string;
  readonly keyId?: string;
  /** What is wrong, when something is: a backend key that differs from the configuration, an error. */
  readonly problem?: string;
  /** The error code, when describing the key failed. */
  readonly errorCode?: string;
  readonly description?: KeyDescription;
  /** The error describing the key failed with. */
  readonly error?: unknown;
}

/**
 * A configured key and its backend state. Configuration errors of the provider (a missing passphrase
 * variable) are thrown; other failures are reported in the result.
 */
export async function configuredKeyState(keyswitch: Keyswitch, name: string): Promise<ConfiguredKeyState> {
  const config = keyswitch.keyConfig(name);
  const base = {
    name,
    provider: config.provider,
    ref: config.ref,
    spec: config.spec,
    usage: config.usage,
    algorithm: config.algorithm,
  };
  let description: KeyDescription;
  try {
    // The provider's own describe: the registry's would refuse a key that differs from its configuration,
    // which is what this command must show.
    const provider = await keyswitch.provider(config.provider);
    description = await provider.describeKey(config.ref, { keyName: name });
  } catch (error) {
    if (isKeyswitchError(error, 'KEY_NOT_FOUND')) {
      return { ...base, state: 'NOT_FOUND', problem: `no key ${config.ref} in provider ${config.provider}` };
    }
    if (isKeyswitchError(error) && error.code !== 'CONFIG_INVALID') {
      return { ...base, state: 'ERROR', errorCode: error.code, problem: errorText(error), error };
    }
    throw error;
  }
  const problems: string[] = [];
  if (description.spec !== config.spec)
    problems.push(`the backend key is ${description.spec}, configured ${config.spec}`);
  if (!(description.usages ?? [description.usage]).includes(config.usage)) {
    problems.push(`the backend key's usage is ${description.usage}, configured ${config.usage}`);
  }
  return {
    ...base,
    state: description.state,
    keyId: description.keyId,
    ...(problems.length ? { problem: problems.join('; ') } : {}),
    description,
  };
}
