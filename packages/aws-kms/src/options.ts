import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { KeyProviderOptions } from '@keyswitch/core';
import type { RateLimits } from './rate-limits.js';

/**
 * How to open an AWS KMS provider.
 *
 * @example
 * ```ts
 * const options: AwsKmsProviderOptions = { region: 'eu-west-1', maxAttempts: 5, localVerify: true, rateLimits: true };
 * ```
 */
export interface AwsKmsProviderOptions extends KeyProviderOptions {
  /** A KMS client of your own; the options below that configure a client are then ignored, and close() leaves it open. */
  readonly client?: KMSClient | undefined;
  /** The AWS Region; defaults to the SDK's chain (`AWS_REGION`, the profile). */
  readonly region?: string | undefined;
  /** A VPC endpoint URL (`https://vpce-…kms.eu-west-1.vpce.amazonaws.com`) or kms-local's endpoint. */
  readonly endpoint?: string | undefined;
  /** A profile in the shared AWS config files. */
  readonly profile?: string | undefined;
  /** Credentials or a credential provider; defaults to the SDK's chain (environment, files, instance and container roles). */
  readonly credentials?: KMSClientConfig['credentials'] | undefined;
  /** Attempts per request, first try included, with the SDK's retry strategy (default 3). */
  readonly maxAttempts?: number | undefined;
  /** The SDK's retry mode: `adaptive` (default; also paces requests after throttling) or `standard`. */
  readonly retryMode?: 'adaptive' | 'standard' | undefined;
  /** How long one attempt may take before it fails as UNAVAILABLE (default 10,000 ms). */
  readonly requestTimeoutMs?: number | undefined;
  /** How long opening a connection may take (default 3,000 ms). */
  readonly connectionTimeoutMs?: number | undefined;
  /** Most concurrent connections kept alive to KMS (default 50). */
  readonly maxSockets?: number | undefined;
  /** Cache public keys, which never change for a KMS key (default true). */
  readonly cachePublicKeys?: boolean | undefined;
  /**
   * Verify RAW-message signatures locally with the cached public key, without a KMS request (default
   * false). A disabled key then still verifies, as it does for anyone holding its public key, and the
   * verification is not in CloudTrail.
   */
  readonly localVerify?: boolean | undefined;
  /** Encrypt to RSA keys locally with the cached public key (default false); the same caveats as `localVerify`. */
  readonly localEncrypt?: boolean | undefined;
  /**
   * A client-side rate limit per request class: `true` for {@link KMS_DEFAULT_RATE_LIMITS}, or your
   * quotas. Requests wait their turn (up to `maxWaitMs`) instead of being throttled by KMS. Off by default.
   */
  readonly rateLimits?: boolean | RateLimits | undefined;
}
