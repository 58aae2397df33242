import type { KMSClient } from '@aws-sdk/client-kms';
import type { AwsKmsProviderOptions } from '../options.js';
import { KMS_DEFAULT_RATE_LIMITS } from '../rate-limits.js';
import { EndpointCircuit } from './circuit-breaker.js';
import { KMS_REQUEST_DEFAULTS } from './kms-client.js';
import { KmsRequests, type Sdk } from './kms-requests.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * How a provider sends its requests, from its options: the client-side rate limit (`true` for the KMS
 * default quotas), the endpoint's circuit breaker (unless `false`), and the call and management timeouts.
 *
 * @example
 * ```ts
 * const requests = kmsRequestsFromOptions({ rateLimits: true }, sdk, client);
 * ```
 */
export function kmsRequestsFromOptions(
  options: AwsKmsProviderOptions,
  sdk: Sdk,
  client: KMSClient,
): KmsRequests {
  const limits = options.rateLimits === true ? KMS_DEFAULT_RATE_LIMITS : options.rateLimits || undefined;
  return new KmsRequests({
    sdk,
    client,
    limiter: limits ? new RateLimiter(limits) : undefined,
    breaker:
      options.circuitBreaker === false
        ? undefined
        : new EndpointCircuit(options.endpoint ?? 'KMS', options.circuitBreaker ?? {}),
    callTimeoutMs: options.callTimeoutMs ?? KMS_REQUEST_DEFAULTS.callTimeoutMs,
    managementTimeoutMs: options.managementTimeoutMs ?? KMS_REQUEST_DEFAULTS.managementTimeoutMs,
  });
}
