import type { KMSClient } from '@aws-sdk/client-kms';
import { KeyswitchError } from '@keyswitch/core';
import type { RateLimitClass } from '../rate-limits.js';
import { isAliasReference } from './key-description.js';
import { mapKmsError } from './map-kms-error.js';
import type { RateLimiter } from './rate-limiter.js';

/** The AWS SDK's KMS module, loaded lazily when a provider opens. */
export type Sdk = typeof import('@aws-sdk/client-kms');

/** Sends KMS requests for one provider: after the rate limiter lets them, with their failures mapped. */
export class KmsRequests {
  readonly #sdk: Sdk;
  readonly #client: KMSClient;
  readonly #limiter: RateLimiter | undefined;

  constructor(sdk: Sdk, client: KMSClient, limiter: RateLimiter | undefined) {
    this.#sdk = sdk;
    this.#client = client;
    this.#limiter = limiter;
  }

  /** Sends one KMS request, after the rate limiter lets it, and maps its failure. */
  async send<T>(
    operation: string,
    rateClass: RateLimitClass,
    run: (sdk: Sdk, client: KMSClient) => Promise<T>,
  ): Promise<T> {
    try {
      await this.#limiter?.acquire(rateClass, operation);
      return await run(this.#sdk, this.#client);
    } catch (error) {
      throw mapKmsError(error, operation);
    }
  }

  /** Key-management operations take a key id or key ARN, not an alias: resolve aliases with DescribeKey. */
  async keyIdOrArn(ref: string): Promise<string> {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw new KeyswitchError('INVALID_INPUT', 'key reference must be a non-empty string');
    }
    if (!isAliasReference(ref)) return ref;
    const { KeyMetadata } = await this.send('DescribeKey', 'describeKey', (sdk, client) =>
      client.send(new sdk.DescribeKeyCommand({ KeyId: ref })),
    );
    return KeyMetadata!.Arn!;
  }
}
