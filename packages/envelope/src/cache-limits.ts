import { KeyswitchError } from '@keyswitch/core';

/**
 * Limits on how long and how much a cached data key is used, as the AWS Encryption SDK's caching
 * materials manager has them. A data key leaves the cache (and its bytes are zeroed) when any limit is
 * reached, when the cache is full and it is the least recently used, when its key-encryption key is
 * disabled, and on close.
 */
export interface CacheLimits {
  /** Longest time a data key stays cached, in milliseconds, from when the backend made or unwrapped it. */
  readonly maxAgeMs: number;
  /**
   * Most messages one cached data key encrypts (or, in the decryption cache, decrypts). At most
   * {@link MAX_CACHE_MESSAGES} (2³²), NIST SP 800-38D's limit for random 96-bit IVs.
   */
  readonly maxMessages: number;
  /**
   * Most plaintext bytes one cached data key encrypts or decrypts; a larger record gets its own key. At
   * most {@link MAX_CACHE_BYTES}, NIST SP 800-38D's largest GCM plaintext (2³⁹ − 256 bits).
   */
  readonly maxBytes: number;
  /** Most data keys held at once (encryption and decryption together); the least recently used goes first. */
  readonly capacity: number;
  /**
   * How often, at most, a cached data key's key-encryption key is described again to learn whether it
   * was disabled elsewhere (another process, the console), in milliseconds; 0 checks on every use. A
   * disable made through this process's registry takes effect at once.
   */
  readonly keyStateTtlMs: number;
}

/** NIST SP 800-38D §8.3: at most 2³² GCM invocations with random 96-bit IVs under one key. */
export const MAX_CACHE_MESSAGES = 2 ** 32;
/** NIST SP 800-38D §5.2.1.1: a GCM plaintext is at most 2³⁹ − 256 bits, that is 2³⁶ − 32 bytes. */
export const MAX_CACHE_BYTES = 2 ** 36 - 32;

/**
 * The defaults: 5 minutes, 10,000 messages, 1 GiB, 1,000 entries, key state re-checked every 60 s.
 * Encrypting 100,000 records under one context makes 10 data-key calls, far under the 100 a bulk job may
 * spend. Why they are safe: each message gets a random 96-bit GCM IV, so the chance that two of 10,000
 * messages share one is about 10,000² / 2⁹⁷ ≈ 2⁻⁷⁰, where NIST SP 800-38D allows up to 2³² messages per
 * key (≈ 2⁻³³); 1 GiB is 2²⁶ AES blocks, keeping GCM's confidentiality bound near 2⁻⁷⁶; and one exposed
 * data key reveals at most 10,000 records or 5 minutes of data.
 *
 * @example
 * ```ts
 * const keyring = Keyring.create(ks, { cache: { ...DEFAULT_CACHE_LIMITS, maxAgeMs: 60_000 } });
 * ```
 */
export const DEFAULT_CACHE_LIMITS: CacheLimits = Object.freeze({
  maxAgeMs: 5 * 60 * 1000,
  maxMessages: 10_000,
  maxBytes: 2 ** 30,
  capacity: 1000,
  keyStateTtlMs: 60_000,
});

const UPPER: Readonly<Record<keyof CacheLimits, { max: number; why: string } | undefined>> = {
  maxAgeMs: undefined,
  maxMessages: { max: MAX_CACHE_MESSAGES, why: "2^32, NIST SP 800-38D's limit for random 96-bit IVs" },
  maxBytes: { max: MAX_CACHE_BYTES, why: "2^36 - 32 bytes, NIST SP 800-38D's largest GCM plaintext" },
  capacity: undefined,
  keyStateTtlMs: undefined,
};

/**
 * The limits in force: the defaults, overridden by `given`, each checked.
 *
 * @throws CONFIG_INVALID naming `cache.<field>` for a value that is not a whole number in range
 *
 * @example
 * ```ts
 * resolveCacheLimits({ maxMessages: 2 ** 40 }); // throws CONFIG_INVALID at cache.maxMessages
 * ```
 */
export function resolveCacheLimits(given: Partial<CacheLimits>): CacheLimits {
  const limits = { ...DEFAULT_CACHE_LIMITS, ...given };
  for (const field of Object.keys(UPPER) as (keyof CacheLimits)[]) {
    const value = limits[field];
    const min = field === 'keyStateTtlMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new KeyswitchError('CONFIG_INVALID', `expected a whole number, ${min} or more`, {
        path: `cache.${field}`,
      });
    }
    const upper = UPPER[field];
    if (upper !== undefined && value > upper.max) {
      throw new KeyswitchError('CONFIG_INVALID', `at most ${upper.why}`, { path: `cache.${field}` });
    }
  }
  return limits;
}
