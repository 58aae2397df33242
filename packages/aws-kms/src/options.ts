import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import type { KeyProviderOptions } from '@keyswitch/core';
import type { CircuitBreakerOptions } from './lib/circuit-breaker.js';
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
  /**
   * The configuration's environment. In `production`, open() asks the client where it will send requests
   * and with which credentials, as the AWS SDK resolves them (these options, `AWS_ENDPOINT_URL_KMS`,
   * `AWS_ACCESS_KEY_ID`, the shared config files, the credential chain), and refuses a plain-HTTP
   * endpoint and kms-local's published credentials unless allowed below.
   */
  readonly environment?: string | undefined;
  /** In production, accept a plain-HTTP endpoint (default false). */
  readonly allowPlainHttp?: boolean | undefined;
  /** In production, accept kms-local's published credentials (default false). */
  readonly allowKmsLocalCredentials?: boolean | undefined;
  /** The JSON path of this provider's configuration section, for error messages (default `options`). */
  readonly configPath?: string | undefined;
  /** Attempts per request, first try included (default 3). CreateKey is always sent once. */
  readonly maxAttempts?: number | undefined;
  /**
   * `standard` (default): the SDK's standard retry rules, bounded by `callTimeoutMs`: a retry that cannot
   * finish in time is not made, so throttling ends as THROTTLED. `adaptive`: the SDK's adaptive mode,
   * whose client-side pacing has no bound of its own; `callTimeoutMs` still stops the call.
   */
  readonly retryMode?: 'adaptive' | 'standard' | undefined;
  /**
   * The most one call may take, every attempt and wait between attempts included, before it fails as
   * THROTTLED (when throttling used up the time) or UNAVAILABLE (default 5,000 ms).
   */
  readonly callTimeoutMs?: number | undefined;
  /**
   * The most a key-management call (create, import, enable, disable, aliases, deletion) may take (default
   * 30,000 ms): creating an RSA key can take seconds. Its retries still fit in `callTimeoutMs`.
   */
  readonly managementTimeoutMs?: number | undefined;
  /** How long one attempt may take before it fails as UNAVAILABLE (default: `managementTimeoutMs`). */
  readonly requestTimeoutMs?: number | undefined;
  /** How long opening a connection may take (default 3,000 ms). */
  readonly connectionTimeoutMs?: number | undefined;
  /** Most concurrent connections kept alive to KMS (default 50). */
  readonly maxSockets?: number | undefined;
  /** Cache public keys (by key ARN: they never change for a KMS key) and key state (default true). */
  readonly cachePublicKeys?: boolean | undefined;
  /**
   * How long where an alias points, and whether a key is enabled, are trusted before KMS is asked again
   * (default 60,000 ms). A key disabled by this provider stops local use at once; one disabled elsewhere
   * within this time. An alias moved elsewhere is followed within this time, and at once when a KMS
   * answer names the new key or a local verification fails.
   */
  readonly keyStateTtlMs?: number | undefined;
  /**
   * Verify RAW-message signatures locally with the cached public key, without a KMS request (default
   * false). The verification is not in CloudTrail, and a key disabled elsewhere still verifies for up to
   * `keyStateTtlMs`.
   */
  readonly localVerify?: boolean | undefined;
  /** Encrypt to RSA keys locally with the cached public key (default false); the same caveats as `localVerify`. */
  readonly localEncrypt?: boolean | undefined;
  /**
   * A client-side rate limit per request class: `true` for {@link KMS_DEFAULT_RATE_LIMITS}, or your
   * quotas. Requests wait their turn (up to `maxWaitMs`) instead of being throttled by KMS. Off by default.
   */
  readonly rateLimits?: boolean | RateLimits | undefined;
  /**
   * After `failures` calls in a row (default 3) could not connect to the endpoint, calls fail at once with
   * UNAVAILABLE for `cooldownMs` (default 5,000), then one call tries again. `false` turns it off.
   */
  readonly circuitBreaker?: false | CircuitBreakerOptions | undefined;
}
