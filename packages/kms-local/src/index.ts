/**
 * kms-local: a server speaking the AWS KMS JSON 1.1 protocol on loopback, backed by any keyswitch
 * provider (an in-memory software HSM by default), for tests and local development with any AWS SDK.
 *
 * @packageDocumentation
 */
export { type KmsLocalKeySeed, kmsLocalKeysFromConfig } from './keys-from-config.js';
export {
  KMS_LOCAL_FLAGS,
  KMS_LOCAL_USAGE,
  type KmsLocalArgs,
  type KmsLocalFlag,
  kmsLocalArgsFrom,
  parseKmsLocalArgs,
  startKmsLocalFromArgs,
} from './kms-local-args.js';
export {
  KMS_LOCAL_DEFAULT_CREDENTIALS,
  KMS_LOCAL_DEFAULTS,
  KMS_LOCAL_FEATURES,
  KMS_LOCAL_OPERATIONS,
  type KmsLocalCredentials,
  type KmsLocalFaults,
  type KmsLocalFeature,
  type KmsLocalOptions,
  type KmsLocalRequestCounts,
  type KmsLocalServer,
  startKmsLocal,
} from './start-kms-local.js';
