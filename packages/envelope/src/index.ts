/**
 * `@keyswitch/envelope`: envelope encryption with data-key caching, keyed PAN hashing, key versions with
 * cryptoperiods, re-wrap and migration between backends, and a key inventory. Key versions are configured
 * in core's `versions` section, and the hash-chained audit file is core's (`audit` section,
 * `AuditFileSink`, `verifyAuditFile`).
 *
 * @packageDocumentation
 */
export {
  type CacheLimits,
  DEFAULT_CACHE_LIMITS,
  MAX_CACHE_BYTES,
  MAX_CACHE_MESSAGES,
  resolveCacheLimits,
} from './cache-limits.js';
export type { CommitmentPolicy } from './commitment-policy.js';
export {
  type DecryptOptions,
  type EncryptOptions,
  EnvelopeCipher,
  type EnvelopeCipherOptions,
} from './envelope-cipher.js';
export {
  COMMITMENT_BYTES,
  DATA_KEY_BYTES,
  ENVELOPE_FORMAT_VERSION,
  type Envelope,
  IV_BYTES,
  LEGACY_FORMAT_VERSION,
  SALT_BYTES,
  TAG_BYTES,
  type WrappedDataKey,
} from './format/envelope.js';
export { decodeEnvelopeString, encodeEnvelopeString } from './format/envelope-string.js';
export { parseEnvelope } from './format/parse-envelope.js';
export { type InventoryEntry, type InventoryOptions, inventory } from './inventory/inventory.js';
export { Keyring, type KeyringOptions, type KeyringStats } from './keyring.js';
export type { KeyringEvent, KeyringEventListener } from './keyring-event.js';
export type { CacheStats } from './lib/data-key-cache.js';
export type { KeyVersionInfo } from './lib/key-version.js';
export { DEFAULT_MULTI_KEYRING_TIMEOUT_MS, type MultiKeyringConfig } from './multi-keyring.js';
export { normalizePan } from './pan/normalize-pan.js';
export { PanHasher, type PanHasherOptions, type PanToken } from './pan/pan-hasher.js';
export { DEFAULT_PAN_TOKEN_LABEL, type PanTokenFormat } from './pan/pan-token-format.js';
export { type RewrapOptions, type RewrapResult, rewrap } from './rewrap/rewrap.js';
export {
  type RewrapProgress,
  type RewrapRecord,
  type RewrapRecordResult,
  type RewrapRecordsOptions,
  rewrapRecords,
} from './rewrap/rewrap-records.js';
