import { type MultiKeyringsConfig, validateMultiKeyrings as validateSection } from '@keyswitch/core';

/**
 * A logical key whose data keys are wrapped by several key-encryption keys, each a key of the keyswitch
 * configuration (by name), on the same or different backends: two KMS Regions, or KMS and a PKCS#11 HSM.
 * Losing one backend loses no data: decryption tries the keys in order, each within `timeoutMs`, and the
 * first that opens the data key wins.
 *
 * @example
 * ```ts
 * const keyring = Keyring.create(ks, {
 *   multiKeyrings: { 'pan-kek': { keys: ['pan-kek-kms', 'pan-kek-hsm'], timeoutMs: 2000 } },
 * });
 * ```
 */
export interface MultiKeyringConfig {
  /**
   * Configured key names that wrap every new data key, in the order decryption tries them; the first
   * (the generator) makes the data key, the others wrap a copy. 1 to 8 keys, each name at most 64
   * characters (it is stored in the envelope).
   */
  readonly keys: readonly string[];
  /**
   * Keys that no longer wrap new data keys but still open the ones they wrapped (tried after `keys`):
   * `rewrap` drops them from envelopes. Remove a key from here once no envelope needs it.
   */
  readonly retired?: readonly string[];
  /** How long one key may take to open or wrap a data key before decryption tries the next, in ms (2,000). */
  readonly timeoutMs?: number;
}

/** The default time one key of a multi-keyring gets to answer, in milliseconds. */
export const DEFAULT_MULTI_KEYRING_TIMEOUT_MS = 2000;

/**
 * @internal The multi-keyrings of the `multiKeyrings` option, or of the configuration's `multiKeyrings`
 * section when the option is not given, checked as core checks the section, with defaults filled in.
 *
 * @throws CONFIG_INVALID naming `multiKeyrings.<name>…`
 */
export function multiKeyringsOf(
  given: unknown,
  configured: MultiKeyringsConfig,
  configuredKeys: readonly string[],
  versionedKeys: readonly string[],
): Record<string, Required<MultiKeyringConfig>> {
  // The configured section is checked again: the `versions` option may name one of its keys.
  const section = validateSection(given ?? configured, { keys: configuredKeys, versionedKeys });
  const out: Record<string, Required<MultiKeyringConfig>> = {};
  for (const [name, config] of Object.entries(section)) {
    out[name] = {
      keys: config.keys,
      retired: config.retired ?? [],
      timeoutMs: config.timeoutMs ?? DEFAULT_MULTI_KEYRING_TIMEOUT_MS,
    };
  }
  return out;
}
