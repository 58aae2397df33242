import { KeyswitchError } from '@keyswitch/core';
import { MAX_WRAPPED_KEYS } from './format/envelope.js';
import { VERSION_ID } from './lib/names.js';

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
 * @internal Checks the `multiKeyrings` option against the configured keys and the key versions.
 *
 * @throws CONFIG_INVALID naming `multiKeyrings.<name>…`
 */
export function validateMultiKeyrings(
  given: unknown,
  configuredKeys: readonly string[],
  versionedKeys: readonly string[],
): Record<string, Required<MultiKeyringConfig>> {
  const out: Record<string, Required<MultiKeyringConfig>> = {};
  if (given === undefined) return out;
  const fail = (path: string, detail: string) =>
    new KeyswitchError('CONFIG_INVALID', detail, { path: `multiKeyrings${path}` });
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw fail('', 'expected an object of multi-keyrings by logical key name');
  }
  for (const [name, raw] of Object.entries(given as Record<string, unknown>)) {
    const at = `.${name}`;
    if (versionedKeys.includes(name))
      throw fail(at, 'this key already has versions; a key is one or the other');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(at, 'expected an object');
    const config = raw as Partial<Record<keyof MultiKeyringConfig, unknown>>;
    const list = (field: 'keys' | 'retired', required: boolean): string[] => {
      const value = config[field];
      if (value === undefined && !required) return [];
      if (!Array.isArray(value) || (required && value.length === 0)) {
        throw fail(`${at}.${field}`, 'expected a non-empty array of configured key names');
      }
      return value.map((entry, index) => {
        if (typeof entry !== 'string' || !configuredKeys.includes(entry)) {
          throw fail(
            `${at}.${field}[${index}]`,
            `not a key of the keyswitch configuration; configured: ${configuredKeys.join(', ') || '(none)'}`,
          );
        }
        if (!VERSION_ID.test(entry)) {
          throw fail(`${at}.${field}[${index}]`, 'a multi-keyring key name must be at most 64 characters');
        }
        return entry;
      });
    };
    const keys = list('keys', true);
    const retired = list('retired', false);
    const all = [...keys, ...retired];
    const repeated = all.find((entry, index) => all.indexOf(entry) !== index);
    if (repeated !== undefined) throw fail(at, `key "${repeated}" is listed twice`);
    if (keys.length > MAX_WRAPPED_KEYS) throw fail(`${at}.keys`, `at most ${MAX_WRAPPED_KEYS} keys`);
    const timeoutMs = config.timeoutMs ?? DEFAULT_MULTI_KEYRING_TIMEOUT_MS;
    if (
      typeof timeoutMs !== 'number' ||
      !Number.isSafeInteger(timeoutMs) ||
      timeoutMs < 1 ||
      timeoutMs > 600_000
    ) {
      throw fail(`${at}.timeoutMs`, 'expected a whole number of milliseconds, 1 to 600,000');
    }
    out[name] = { keys, retired, timeoutMs };
  }
  return out;
}
