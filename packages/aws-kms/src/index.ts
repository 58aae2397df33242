/**
 * The AWS KMS backend for keyswitch, on `@aws-sdk/client-kms`.
 *
 * @packageDocumentation
 */
export {
  AwsKmsProvider,
  type AwsKmsProviderOptions,
  type KeyRotationStatus,
  KMS_MAX_RAW_MESSAGE_BYTES,
  type KmsAlias,
  type KmsImportKeyRequest,
  type ReEncryptRequest,
  type ReEncryptResult,
} from './aws-kms-provider.js';
export { type AwsKmsConfig, awsKmsConfigSchema } from './config.js';
export { providerFactory } from './provider-factory.js';
export { KMS_DEFAULT_RATE_LIMITS, type RateLimitClass, type RateLimits } from './rate-limits.js';
