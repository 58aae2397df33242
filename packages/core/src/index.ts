export * from './audit/audit-bus.js';
export * from './audit/audit-file-sink.js';
export * from './audit/events.js';
export type { AuditRecord } from './audit/lib/audit-record.js';
export * from './audit/verify-audit-file.js';
export * from './bytes/compare-bytes.js';
export * from './bytes/concat-bytes.js';
export * from './bytes/copy-bytes.js';
export * from './bytes/utf8.js';
export * from './bytes/wipe-bytes.js';
export {
  activeVersionId,
  type KeyVersionConfig,
  type KeyVersionNames,
  type KeyVersionsConfig,
  keyVersionsSchema,
  specTemplateKey,
  type VersionedKeyConfig,
  validateKeyVersions,
} from './config/key-versions.js';
export * from './config/load-config.js';
export * from './config/multi-keyrings.js';
export * from './config/parse-with-schema.js';
export * from './config/schema.js';
export * from './config/secrets.js';
export * from './encoding/index.js';
export * from './english/counted.js';
export * from './english/with-article.js';
export * from './errors.js';
export * from './handles/data-keys.js';
export * from './handles/encrypter.js';
export * from './handles/key-agreement.js';
export * from './handles/key-handle.js';
export * from './handles/mac.js';
export * from './handles/signer.js';
export { requireObject, requireString } from './lib/argument-shape.js';
export { canonicalContext as encodeEncryptionContext } from './lib/canonical-context.js';
export { fileSystemError } from './lib/file-system-error.js';
export { acquireLockFile, type LockFile, type LockFileOptions } from './lib/lock-file.js';
export * from './provider/contract.js';
export * from './provider/factory.js';
export * from './provider/hook-inputs.js';
export * from './provider/key-provider.js';
export type { PoolStats } from './provider/pool-stats.js';
export * from './registry/call-deadline.js';
export * from './registry/circuit-breaker.js';
export type { CryptoperiodEvent, KeyVersionStatus } from './registry/key-version-set.js';
export * from './registry/keyswitch.js';
export { BUILT_IN_PROVIDER_PACKAGES } from './registry/load-provider-factory.js';
export { CONFIG_JSON_SCHEMA_ID, configJsonSchema } from './schema/config-json-schema.js';
export { checkLogger, type KeyswitchLogger, type LogLevel, logSafely } from './telemetry/logger.js';
export {
  ATTRIBUTES as TELEMETRY_ATTRIBUTES,
  FAILOVER_EVENT,
  METRICS as TELEMETRY_METRICS,
} from './telemetry/metric-names.js';
export type * from './telemetry/otel-types.js';
export { checkRequestId, MAX_REQUEST_ID_LENGTH } from './telemetry/request-id.js';
export type { ObservabilityOptions, TelemetryOption } from './telemetry/telemetry-options.js';
export * from './vocabulary/algorithms.js';
export * from './vocabulary/jose-names.js';
export * from './vocabulary/key-specs.js';
