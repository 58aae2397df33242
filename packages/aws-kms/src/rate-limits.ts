/**
 * The classes of KMS requests that share a request quota, as AWS KMS counts them:
 *
 * - `symmetric`: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext) with symmetric keys,
 *   and GenerateRandom unless `generateRandom` has its own limit;
 * - `rsa`: cryptographic operations with RSA keys; `ecc`: with elliptic-curve keys; `hmac`: GenerateMac, VerifyMac;
 * - `generateRandom`: GenerateRandom, when limited apart from `symmetric`;
 * - `getPublicKey`, `describeKey`: those operations;
 * - `list`: ListKeys and ListAliases;
 * - `management`: every other operation (CreateKey, EnableKey, CreateAlias…), each with its own bucket.
 *
 * @example
 * ```ts
 * const limits: RateLimits = { symmetric: 10_000 } satisfies Partial<Record<RateLimitClass, number>>;
 * ```
 */
export type RateLimitClass =
  | 'symmetric'
  | 'rsa'
  | 'ecc'
  | 'hmac'
  | 'generateRandom'
  | 'getPublicKey'
  | 'describeKey'
  | 'list'
  | 'management';

/**
 * A client-side rate limit per class, in requests per second, and how long a request may wait for its turn.
 *
 * @example
 * ```ts
 * const limits: RateLimits = { rsa: 400, ecc: 250, maxWaitMs: 1000 };
 * ```
 */
export type RateLimits = { readonly [rateClass in RateLimitClass]?: number | undefined } & {
  /** How long a request may wait for a token before failing with THROTTLED (default 2,000 ms). */
  readonly maxWaitMs?: number | undefined;
};

/**
 * AWS KMS's default request quotas (requests per second) for the classes above, from the AWS KMS
 * Developer Guide: the lowest regional defaults for symmetric cryptographic operations. Quotas are
 * adjustable per account and Region: configure your own from Service Quotas when they differ.
 *
 * @example
 * ```ts
 * const provider = await AwsKmsProvider.open({ region: 'eu-west-1', rateLimits: { ...KMS_DEFAULT_RATE_LIMITS, symmetric: 10_000 } });
 * ```
 */
export const KMS_DEFAULT_RATE_LIMITS: Readonly<Record<Exclude<RateLimitClass, 'generateRandom'>, number>> =
  Object.freeze({
    symmetric: 5_500,
    rsa: 500,
    ecc: 300,
    hmac: 2_000,
    getPublicKey: 2_000,
    describeKey: 2_000,
    list: 500,
    management: 5,
  });
