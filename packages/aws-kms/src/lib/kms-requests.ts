import type { KMSClient } from '@aws-sdk/client-kms';
import { KeyswitchError } from '@keyswitch/core';
import type { RateLimitClass } from '../rate-limits.js';
import { isNotConnectedError } from './call-deadline-retry-strategy.js';
import type { EndpointCircuit } from './circuit-breaker.js';
import { isAliasReference } from './key-description.js';
import { mapKmsError } from './map-kms-error.js';
import type { RateLimiter } from './rate-limiter.js';
import { keepErrorBodies, SentOnceError, sendOnce } from './sdk-middleware.js';

/** The AWS SDK's KMS module, loaded lazily when a provider opens. */
export type Sdk = typeof import('@aws-sdk/client-kms');

/** What a request body gets to send its command with. */
export type KmsSender = Pick<KMSClient, 'send'>;

/** How one request is sent. */
export interface SendOptions {
  /** A request that must not be repeated (CreateKey): the SDK does not retry it. */
  readonly once?: boolean;
  /**
   * The caller's signal (a handle call's `signal`, joined with its `timeoutMs`): when it fires, the HTTP
   * request is aborted, its socket freed, and the call fails with ABORTED (UNAVAILABLE for the time limit).
   */
  readonly signal?: AbortSignal | undefined;
}

/** How requests are sent: the client, and what bounds each call. */
export interface KmsRequestsSettings {
  readonly sdk: Sdk;
  readonly client: KMSClient;
  readonly limiter: RateLimiter | undefined;
  readonly breaker: EndpointCircuit | undefined;
  /** The most one call may take, every attempt and wait included. */
  readonly callTimeoutMs: number;
  /** The same for key-management calls. */
  readonly managementTimeoutMs: number;
}

/**
 * Sends KMS requests for one provider: after the rate limiter lets them and the circuit breaker admits
 * them, within the call timeout, with their failures mapped to keyswitch errors.
 */
export class KmsRequests {
  readonly #settings: KmsRequestsSettings;

  constructor(settings: KmsRequestsSettings) {
    this.#settings = settings;
  }

  /** Sends one KMS request and maps its failure. */
  async send<T>(
    operation: string,
    rateClass: RateLimitClass,
    run: (sdk: Sdk, client: KmsSender) => Promise<T>,
    options: SendOptions = {},
  ): Promise<T> {
    const { sdk, client, limiter, breaker } = this.#settings;
    const timeoutMs =
      rateClass === 'management' ? this.#settings.managementTimeoutMs : this.#settings.callTimeoutMs;
    let admitted = false;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const caller = options.signal;
    const cancel = () => deadline.abort();
    if (caller?.aborted) deadline.abort();
    else caller?.addEventListener('abort', cancel, { once: true });
    try {
      await limiter?.acquire(rateClass, operation);
      breaker?.admit(operation);
      admitted = true;
      const sender = {
        send: (command: Parameters<KMSClient['send']>[0]) => {
          keepErrorBodies(command.middlewareStack);
          if (options.once) sendOnce(command.middlewareStack);
          return client.send(command, { abortSignal: deadline.signal });
        },
      } as KmsSender;
      const result = await run(sdk, sender);
      breaker?.record('connected');
      return result;
    } catch (caught) {
      const error = caught instanceof SentOnceError ? caught.original : caught;
      if (admitted) {
        const connected = !isNotConnectedError(error);
        breaker?.record(connected ? 'connected' : 'not-connected', describe(error));
      }
      const aborted =
        deadline.signal.aborted && (error as { name?: string } | undefined)?.name === 'AbortError';
      if (
        aborted &&
        caller?.aborted &&
        (caller.reason as { name?: string } | undefined)?.name === 'TimeoutError'
      ) {
        throw new KeyswitchError(
          'UNAVAILABLE',
          `KMS ${operation} got no answer within the call's time limit; the request was aborted, and may have reached KMS`,
          { cause: error },
        );
      }
      if (aborted && caller?.aborted) {
        throw new KeyswitchError(
          'ABORTED',
          `KMS ${operation} was cancelled by the caller's AbortSignal; a request already sent may have reached KMS`,
          { cause: error },
        );
      }
      if (aborted) {
        throw new KeyswitchError(
          'UNAVAILABLE',
          `KMS ${operation} got no answer within the call timeout (${timeoutMs} ms, every attempt included); the request was sent, so KMS may have acted on it`,
          { cause: error },
        );
      }
      throw mapKmsError(error, operation);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', cancel);
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

function describe(error: unknown): string {
  const fields = (error ?? {}) as { code?: string; name?: string };
  return fields.code ?? fields.name ?? 'error';
}
