/**
 * Limits on how long and how much a cached data key is used, as the AWS Encryption SDK's caching
 * materials manager has them. A data key leaves the cache (and its bytes are zeroed) when any limit is
 * reached, when the cache is full and it is the least recently used, and on close.
 */
export interface CacheLimits {
  /** Longest time a data key stays cached, in milliseconds, from when the backend made or unwrapped it. */
  readonly maxAgeMs: number;
  /** Most messages one cached data key encrypts (or, in the decryption cache, decrypts). */
  readonly maxMessages: number;
  /** Most plaintext bytes one cached data key encrypts or decrypts; a larger record gets its own key. */
  readonly maxBytes: number;
  /** Most data keys held at once (encryption and decryption together); the least recently used goes first. */
  readonly capacity: number;
}

/**
 * The defaults: 5 minutes, 10,000 messages, 1 GiB, 1,000 entries. Encrypting 100,000 records under one
 * context makes 10 data-key calls, far under the 100 a bulk job may spend. Why they are safe: each message
 * gets a random 96-bit GCM IV, so the chance that two of 10,000 messages share one is about
 * 10,000² / 2⁹⁷ ≈ 2⁻⁷⁰, where NIST SP 800-38D allows up to 2³² messages per key (≈ 2⁻³³); 1 GiB is 2²⁶
 * AES blocks, keeping GCM's confidentiality bound near 2⁻⁷⁶; and one exposed data key reveals at most
 * 10,000 records or 5 minutes of data.
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
});
