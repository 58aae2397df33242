/**
 * `@keyswitch/envelope`: envelope encryption with data-key caching, keyed PAN hashing, key versions with
 * cryptoperiods, re-wrap and migration between backends, a key inventory, and a hash-chained audit file.
 *
 * @packageDocumentation
 */
export { type AuditChainHead, AuditFileSink, type AuditFileSinkOptions } from './audit/audit-file-sink.js';
export type { AuditRecord } from './audit/lib/audit-record.js';
export {
  type AuditIssue,
  type AuditTamperKind,
  type AuditVerification,
  type VerifyAuditFileOptions,
  verifyAuditFile,
} from './audit/verify-audit-file.js';
export { type CacheLimits, DEFAULT_CACHE_LIMITS } from './cache-limits.js';
export {
  type DecryptOptions,
  type EncryptOptions,
  EnvelopeCipher,
  type EnvelopeCipherOptions,
} from './envelope-cipher.js';
export {
  DATA_KEY_BYTES,
  ENVELOPE_FORMAT_VERSION,
  type Envelope,
  IV_BYTES,
  TAG_BYTES,
} from './format/envelope.js';
export { decodeEnvelopeString, encodeEnvelopeString } from './format/envelope-string.js';
export { parseEnvelope } from './format/parse-envelope.js';
export { type InventoryEntry, type InventoryOptions, inventory } from './inventory/inventory.js';
export { Keyring, type KeyringOptions, type KeyringStats } from './keyring.js';
export type { KeyVersionConfig, KeyVersionsConfig, VersionedKeyConfig } from './keyring-config.js';
export type { KeyringEvent, KeyringEventListener } from './keyring-event.js';
export type { CacheStats } from './lib/data-key-cache.js';
export type { KeyVersionInfo } from './lib/key-version.js';
export { normalizePan } from './pan/normalize-pan.js';
export { PanHasher, type PanHasherOptions, type PanToken } from './pan/pan-hasher.js';
export { type RewrapOptions, type RewrapResult, rewrap } from './rewrap/rewrap.js';
export {
  type RewrapProgress,
  type RewrapRecord,
  type RewrapRecordResult,
  type RewrapRecordsOptions,
  rewrapRecords,
} from './rewrap/rewrap-records.js';
