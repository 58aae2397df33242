/**
 * The AWS KMS backend for keyswitch, on `@aws-sdk/client-kms`.
 *
 * @packageDocumentation
 */
export { AwsKmsProvider } from './aws-kms-provider.js';
export { type AwsKmsConfig, awsKmsConfigSchema } from './config.js';
export type { KmsAlias } from './extras/aliases.js';
export type { KeyRotationStatus } from './extras/key-rotation.js';
export type { ReEncryptRequest, ReEncryptResult } from './extras/re-encrypt.js';
export { KMS_MAX_RAW_MESSAGE_BYTES } from './lib/kms-message.js';
export type { AwsKmsProviderOptions } from './options.js';
export { providerFactory } from './provider-factory.js';
export { KMS_DEFAULT_RATE_LIMITS, type RateLimitClass, type RateLimits } from './rate-limits.js';
